"""ROS 2 nodes: one thin rclpy node per file, message <-> NumPy, then a call into the layers."""

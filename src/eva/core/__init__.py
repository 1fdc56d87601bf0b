"""Pure logic, NumPy only: landmark sets, the landmark mask, head pose. No rclpy, no torch, no I/O."""

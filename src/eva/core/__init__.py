"""Pure logic, NumPy only: landmark sets, the landmark mask, normalization, head pose, filters. No rclpy, no torch, no I/O."""

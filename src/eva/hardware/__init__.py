"""Hardware: servo calibration, safety, PCA9685 driver, neck kinematics. Imports neither torch nor MediaPipe."""

"""eva: self-supervised facial mimicry for animatronic robot faces (Eva 2.0) on ROS 2."""

__version__ = "0.1.0"

MOTOR_COMMAND_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)  # paper IV-E: 5 positions per motor

"""The simulated Eva face: a real face photo warped by 10 motor-driven muscles, and its virtual camera."""

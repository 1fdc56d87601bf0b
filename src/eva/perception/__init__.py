"""Perception: MediaPipe face landmarks, the face model file, camera sources."""

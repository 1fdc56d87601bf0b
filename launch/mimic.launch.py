"""Facial mimicry: ros2 launch eva mimic.launch.py camera:=webcam:0 [use_sim:=true] [checkpoints:=DIR].

camera -> landmarks -> normalizer -> generator -> inverse -> motor_commands (-> sim_face
when use_sim). Reads the same graph description as `eva launch mimic`
(eva.ros.graphs.GRAPHS["mimic"]); `ros2 launch eva mimic.launch.py --show-args` lists the arguments.
"""
from eva.ros.graphs import GRAPHS
from eva.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description(GRAPHS["mimic"])

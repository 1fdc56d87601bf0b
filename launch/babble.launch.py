"""Motor babbling into a bag: ros2 launch eva babble.launch.py out:=BAG steps:=16000 [robot:=real camera:=realsense].

robot:=sim (default) babbles the simulated face in simulated time; robot:=real a robot through its servo
bridge and a camera filming it; robot:=sim_realtime the simulated robot as deployed (--show-args lists all).

Reads the same graph description as `eva babble` / `eva launch babble` (eva.ros.graphs.GRAPHS["babble"]).
"""
from eva.ros.graphs import GRAPHS
from eva.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description(GRAPHS["babble"])

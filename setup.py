"""ament_python package `eva`: colcon build (real ROS 2) and pip install -e . (here)."""
import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "eva"

setup(
    name=PACKAGE,
    version="0.1.0",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"eva": ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
        *[(f"share/{PACKAGE}/{d}", glob(f"{d}/*")) for d in sorted({os.path.dirname(f)
          for f in glob("checkpoints/sim/*/seed*/*") + glob("checkpoints/sim/nn/*")
          + glob("checkpoints/sim/expression-prior/*")})],
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="eva developers",
    maintainer_email="eva-maintainers@example.org",
    description="Self-supervised facial mimicry for animatronic robot faces (Eva 2.0) on ROS 2.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "eva = eva.cli.main:main",
            "babbler = eva.ros.babbler:main",
            "robot_babbler = eva.ros.robot_babbler:main",
            "sim_face = eva.ros.sim_face_node:main",
            "landmarks = eva.ros.landmarks_node:main",
            "camera = eva.ros.camera_node:main",
            "recorder = eva.ros.recorder:main",
            "normalizer = eva.ros.normalizer_node:main",
            "generator = eva.ros.generator_node:main",
            "inverse = eva.ros.inverse_node:main",
            "servo_bridge = eva.ros.servo_bridge_node:main",
        ],
    },
)

"""Build steps that pyproject.toml cannot express.

The wheel carries ``asynchat-precedence.pth`` at its root, so that the
installed package, not the standard library's module, is what ``import
asynchat`` gives (see ``_asynchat_precedence.py``).
"""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH_FILE = "asynchat-precedence.pth"


class build_py_with_pth(build_py):
    """build_py that also puts the .pth file at the top of the build tree."""

    def run(self):
        super().run()
        self.copy_file(PTH_FILE, os.path.join(self.build_lib, PTH_FILE), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH_FILE)]


setup(cmdclass={"build_py": build_py_with_pth})

"""Serve CareSpace from a frontend that is already built, the way `reflex run --env prod
--single-port` serves it once its build is done: one port, the compiled pages mounted on
the backend, Granian's workers.

Only the test harness uses it (tests/e2e/harness.py, `FrontendCache`): the first server
of a test run starts with the real `reflex run --env prod --single-port`, and the others
reuse its build instead of compiling and building the same pages again (about 17 s of CPU
each on 2 cores). Run from the server's own folder (tests/e2e/harness.py `started`):

    python /path/to/tests/e2e/serve_built.py PORT
"""
from __future__ import annotations

import sys


def main(port: str) -> int:
    from reflex.reflex import _run
    from reflex.utils import exec as reflex_exec
    from reflex_base import constants
    from reflex_base.environment import environment

    run_backend_prod = reflex_exec.run_backend_prod

    def with_the_built_frontend(host, port, loglevel=None, mount_frontend_compiled_app=False):
        # Backend-only skips the compile and the build; this mounts the pages they made.
        return run_backend_prod(host, port, loglevel, True)

    reflex_exec.run_backend_prod = with_the_built_frontend
    # What `reflex run` sets before its _run (the command itself refuses --backend-only
    # here: rxconfig.py names a frontend port, the same as the backend's).
    environment.REFLEX_COMPILE_CONTEXT.set(constants.CompileContext.RUN)
    environment.REFLEX_BACKEND_ONLY.set(True)
    environment.REFLEX_FRONTEND_ONLY.set(False)
    _run(env=constants.Env.PROD, running_mode=constants.RunningMode.BACKEND_ONLY,
         backend_port=int(port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Running a stage's command line as its own process without paying the interpreter's start-up every time.

A pipeline stage is a documented tool (``python tools/<tool>.py ARGS``) run in a process of its own, so that a
stage's memory, threads and global state end with it. Starting Python and importing torch, mmengine, mmcv, mmseg,
timm and mmssc takes about 6 s on a 2-core CPU, for each of the demo's eight processes.

:func:`run_tool` therefore runs ``[sys.executable, <file>.py, ARGS]`` in a child forked from a *tool server*: a
helper process, started at the first call, that imports ``PRELOAD`` once and then only forks. The child is a
separate process that runs the file as ``__main__`` with its own ``sys.argv``, environment and working
directory, and prints to the same terminal; its exit status is the tool's. The server never computes anything, so
no thread pool (OpenMP, MKL) exists when it forks, and it reads only the calling process's requests, so the
caller's own ``__main__`` is never imported again (unlike multiprocessing's forkserver). Any other command line
(another interpreter, ``bash tools/dist_train.sh``, ``torchrun``), a platform without ``os.fork``, or
``MMSSC_TOOL_SUBPROCESS=1`` goes through :func:`subprocess.run` as before.
"""
import atexit
import importlib
import json
import os
import os.path as osp
import runpy
import subprocess
import sys
import traceback
from typing import Mapping, Optional, Sequence

PRELOAD = ('mmssc', 'mmssc.stages', 'mmengine.runner')
SUBPROCESS_ENV = 'MMSSC_TOOL_SUBPROCESS'
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

__all__ = ['PRELOAD', 'SUBPROCESS_ENV', 'forks', 'run_tool', 'serve']

_server = None   # (Popen of the tool server, file of its exit statuses) once started


def forks(args: Sequence[str]) -> bool:
    """Whether :func:`run_tool` runs ``args`` through the tool server (this interpreter running a Python file)."""
    return (len(args) >= 2 and args[0] == sys.executable and str(args[1]).endswith('.py')
            and hasattr(os, 'fork') and os.environ.get(SUBPROCESS_ENV, '') in ('', '0'))


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)   # sys.exit('message'), as the interpreter reports it
    return 1


def _run_file(path: str, argv: Sequence[str], env: Mapping[str, str], cwd: str) -> int:
    """In the forked child: ``python path argv`` with ``env`` in ``cwd``, as ``__main__``; returns its status."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    devnull = os.open(os.devnull, os.O_RDONLY)   # the server's stdin carries requests, not the tool's input
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(0, closefd=False)
    for entry in reversed([p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]):
        sys.path.insert(0, entry)
    sys.path.insert(0, osp.dirname(osp.abspath(path)))   # a script's own folder first, as under `python path`
    sys.argv = [path, *argv]
    try:
        runpy.run_path(path, run_name='__main__')
        return 0
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException:  # noqa: B902  the interpreter would print it and exit 1
        traceback.print_exc()
        return 1


def serve(status_fd: int) -> None:
    """The tool server: import ``PRELOAD``, then for each JSON request line on stdin fork a child that runs it
    and write the child's exit status to ``status_fd``; ends when stdin closes."""
    for name in PRELOAD:
        importlib.import_module(name)
    with os.fdopen(status_fd, 'w') as status:
        for line in iter(sys.stdin.readline, ''):
            request = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = _run_file(request['path'], request['argv'], request['env'], request['cwd'])
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            _, wait_status = os.waitpid(pid, 0)
            status.write(f'{os.waitstatus_to_exitcode(wait_status)}\n')
            status.flush()


def _stop_server() -> None:
    global _server
    if _server is not None:
        process, status = _server
        _server = None
        process.stdin.close()
        process.wait()
        status.close()


atexit.register(_stop_server)   # the server ends with its caller (closing its stdin ends its loop)


def _tool_server():
    global _server
    if _server is not None and _server[0].poll() is not None:   # a server that died: release its pipes
        _stop_server()
    if _server is None:
        read_fd, write_fd = os.pipe()
        code = (f'import sys; sys.path.insert(0, {REPO_ROOT!r}); '
                f'from mmssc.tool_launcher import serve; serve({write_fd})')
        process = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE, pass_fds=(write_fd,),
                                   text=True)
        os.close(write_fd)
        _server = (process, os.fdopen(read_fd))
    return _server


def run_tool(args: Sequence[str], cwd: str, env: Optional[Mapping[str, str]] = None) -> int:
    """Run the command line ``args`` in ``cwd`` with environment ``env`` (default: this one) in a process of its
    own; return its exit status (negative: killed by that signal)."""
    env = dict(os.environ if env is None else env)
    if not forks(args):
        return subprocess.run(list(args), cwd=cwd, env=env).returncode
    process, status = _tool_server()
    sys.stdout.flush()   # what this process printed comes before the tool's output
    sys.stderr.flush()
    request = dict(path=str(args[1]), argv=[str(a) for a in args[2:]], env=env, cwd=cwd)
    process.stdin.write(json.dumps(request) + '\n')
    process.stdin.flush()
    reply = status.readline()
    if not reply:   # the server died (killed, out of memory): say so rather than guess the tool's outcome
        _stop_server()
        raise RuntimeError(f'the tool server stopped while running {" ".join(map(str, args))}; set '
                           f'{SUBPROCESS_ENV}=1 to run each tool with subprocess instead')
    return int(reply)

"""A fork server for the workflow's jobs, so that a job costs a fork, not a Python start-up.

Snakemake runs every job of a local run as a fresh Python process. Importing the science stack
(numpy, astropy.io.fits, astropy.wcs + coordinates, stwcs, drizzle, scipy.ndimage) takes ~1 s,
which for a visit of a few exposures is more than the drizzling itself. So a local run starts
one server (``Snakefile`` ``onstart``) that imports the stack once and listens on a Unix socket
in a private directory; a job's script sends it (stage name, arguments, log file) and the server
forks a child that already has everything imported. The job script waits for the child's answer
and exits with its status, so Snakemake still sees one process per job, and every product is
still written by the stage function itself (atomically). Without a server (cluster jobs, a user
calling the library, the server gone) the stage simply runs in the calling process.

The server only ever forks from its single thread, and leaves when the Snakemake process that
started it does.
"""
import importlib
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import traceback

ENV = "SNAKEDRIZZLE_JOBSERVER"
PRELOAD = ("snakedrizzle.drizzle.files", "snakedrizzle.drizzle.product", "stwcs.distortion.utils")


# ---- framing: a 4-byte length, then a pickle ---------------------------------------------------

def _send(sock, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(struct.pack("!I", len(data)) + data)


def _recv(sock):
    head = _recv_exactly(sock, 4)
    if head is None:
        return None
    data = _recv_exactly(sock, struct.unpack("!I", head)[0])
    return None if data is None else pickle.loads(data)


def _recv_exactly(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


# ---- the server --------------------------------------------------------------------------------

def start():
    """Start a server for this process's jobs; returns (process, socket path). Jobs find it
    through the environment variable ``SNAKEDRIZZLE_JOBSERVER``, which this sets."""
    path = os.path.join(tempfile.mkdtemp(prefix="snakedrizzle-"), "jobs.sock")  # mode 0700
    proc = subprocess.Popen([sys.executable, "-m", "snakedrizzle.workflow.jobserver", path, str(os.getpid())])
    os.environ[ENV] = path
    return proc, path


def stop(proc, path):
    os.environ.pop(ENV, None)
    proc.terminate()
    proc.wait()
    try:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


def serve(path, parent_pid):
    """Accept jobs until the parent is gone. The socket is bound before the imports, so jobs
    that come early simply queue."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while os.getppid() == parent_pid:
        ready, _, _ = select.select([listener], [], [], 1.0)
        _reap()
        if ready:
            conn, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _child(conn)  # never returns
            conn.close()


def _reap():
    """Collect finished children (so their resource use reaches Snakemake's accounting)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _child(conn):
    status = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        request = _recv(conn)
        _send(conn, os.getpid())
        os.chdir(request["cwd"])
        from snakedrizzle.workflow.jobs import call_stage

        try:
            call_stage(request["stage"], request["args"], request["kwargs"], request["log"], echo=False)
            _send(conn, ("ok", None))
            status = 0
        except Exception as exc:  # the job's process reports it
            _send(conn, ("error", _describe(exc)))
    finally:
        os._exit(status)


def _describe(exc):
    from snakedrizzle.errors import InputError

    if isinstance(exc, InputError):
        return f"snakedrizzle: bad input: {exc}"
    return "".join(traceback.format_exception(exc))


# ---- the client (inside a job's process) -------------------------------------------------------

def submit(stage, args, kwargs, log):
    """Run ``stage`` in the server's fork. Returns None on success, the error text on failure,
    or raises ConnectionError when there is no server to use."""
    path = os.environ.get(ENV)
    if not path:
        raise ConnectionError("no job server")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)  # ConnectionError/FileNotFoundError: no server
    with sock:
        _send(sock, {"stage": stage, "args": args, "kwargs": kwargs, "log": log, "cwd": os.getcwd()})
        pid = _recv(sock)
        if pid is None:
            raise ConnectionError("job server closed the connection")
        # Snakemake stops a job by signalling its process; pass that on to the worker.
        def forward(signum, _frame):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            sys.exit(128 + signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        answer = _recv(sock)
    if answer is None:
        return f"snakedrizzle: the worker process of this job (pid {pid}) died without an answer"
    return None if answer[0] == "ok" else answer[1]


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))

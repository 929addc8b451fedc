"""A fork server for the jobs of a local run, so that a job costs a fork, not a Python start-up.

Snakemake runs every job of a local run as a fresh Python process, and importing the science
stack (numpy, astropy, stwcs, drizzle, scipy.ndimage) takes ~1 s: for a visit of a few exposures
more than the drizzling. So a local run (``Snakefile``: ``onstart``) starts one server that
imports the stack once. A job's script hands itself over first thing
(``snakedrizzle.workflow.jobs.run_in_job_server``): it sends the path of the script file
Snakemake generated, its cwd, environment and stdin/stdout/stderr; the server forks a worker that
runs that same file with runpy (the preamble unpickles the same ``snakemake`` object) exactly as
``python script.py`` would, and the job's process exits with the worker's status. Without a
server (cluster jobs, a conda/container run, a user calling the library) the script runs in its
own process: the scripts are the same either way.

Making it invisible to Snakemake:
- benchmarks: Snakemake measures the job's process tree, which holds the waiting client, not the
  worker. The worker measures itself (and its strip processes) and appends the numbers to
  ``benchmarks.jsonl`` in the run directory; ``stop`` writes them into the rules' benchmark files
  after Snakemake has written those.
- lifetime: the server and every worker die with the process that started them
  (PR_SET_PDEATHSIG, plus a parent check); a worker dies with its job's process (the server kills
  the worker's process group when the job's connection closes: SIGTERM to the job, or its death).
- no files left behind: the socket lives in Linux's abstract namespace (it vanishes with the
  server; only this user may connect), the run directory under ``.snakemake/`` is removed by
  ``stop`` or, after a killed run, by the next ``start``.

The Snakemake process binds the socket itself before starting the server, so jobs that start
while the server imports queue instead of running cold. The server forks only from its single
thread. Linux only (abstract sockets, pidfds, prctl): elsewhere every job runs in its own process.
"""
import ctypes
import os
import pickle
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

from snakedrizzle.workflow import benchmarks

ENV = "SNAKEDRIZZLE_JOBSERVER"
DISABLE_ENV = "SNAKEDRIZZLE_NO_JOBSERVER"
RUNS = os.path.join(".snakemake", "snakedrizzle-jobserver")
PRELOAD = ("snakedrizzle.drizzle.files", "snakedrizzle.drizzle.files_cr", "snakedrizzle.drizzle.files_final",
           "stwcs.distortion.utils", "stwcs.wcsutil", "snakedrizzle.workflow.jobs", "snakemake.script",
           # photutils and the catalog stack: ~1 s of imports in each of a visit's ~12 source-list
           # and catalog jobs (SVM half-size ACS/WFC: 92 -> 64 CPU-s of jobs)
           "snakedrizzle.hap.align.sources", "snakedrizzle.hap.catalogs.stages")
_PR_SET_PDEATHSIG = 1
_worker = False  # True in a worker process: the script is already where it should run


def wanted(workflow):
    """Whether this Snakemake process should run its jobs through a server: only a local run
    (not a cluster job, not a remote executor) with no software deployment method, since
    conda envs, containers and env modules must see the job run inside them."""
    return (sys.platform.startswith("linux") and workflow.is_main_process and workflow.local_exec
            and not workflow.deployment_settings.deployment_method and not os.environ.get(DISABLE_ENV))


def in_worker():
    return _worker


# ---- framing: a 4-byte length, then a pickle ---------------------------------------------------

def _send(sock, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(struct.pack("!I", len(data)) + data)


def _recv(sock):
    head = _recv_exactly(sock, 4)
    data = head and _recv_exactly(sock, struct.unpack("!I", head)[0])
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


def _die_with_parent(signum):
    """Ask Linux to send ``signum`` to this process when its parent dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        pass


# ---- the server, seen from the Snakemake process ------------------------------------------------

class Server:
    def __init__(self, proc, address, run_dir):
        self.proc, self.address, self.run_dir = proc, address, run_dir


def start(workdir="."):
    """Start a server for this process's jobs (found by them through ``$SNAKEDRIZZLE_JOBSERVER``)."""
    runs = os.path.join(os.path.abspath(workdir), RUNS)
    _remove_stale_runs(runs)
    run_dir = os.path.join(runs, str(os.getpid()))
    os.makedirs(run_dir, exist_ok=True)
    address = f"snakedrizzle-jobserver-{os.getpid()}-{os.urandom(8).hex()}"
    # Bound here, so that jobs connecting before the server is up queue instead of missing it.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + address)  # abstract: no file, gone with the server
    listener.listen(64)
    with listener:
        code = "import sys; from snakedrizzle.workflow.jobserver import serve; serve(*sys.argv[1:])"
        proc = subprocess.Popen([sys.executable, "-c", code, str(listener.fileno()), run_dir, str(os.getpid())],
                                pass_fds=[listener.fileno()])
    os.environ[ENV] = address
    return Server(proc, address, run_dir)


def stop(server, workflow):
    """Stop the server, then put the workers' measurements into the benchmark files Snakemake
    has written for the jobs (it writes them after a job's process exits)."""
    os.environ.pop(ENV, None)
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
    if workflow is not None:
        benchmarks.rewrite_benchmark_files(server.run_dir, workflow)
    shutil.rmtree(server.run_dir, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(server.run_dir))  # unless another run's is there
    except OSError:
        pass


def _remove_stale_runs(runs):
    """Run directories of servers whose Snakemake process is gone (a killed run)."""
    for entry in os.listdir(runs) if os.path.isdir(runs) else []:
        try:
            os.kill(int(entry), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(runs, entry), ignore_errors=True)
        except (ValueError, PermissionError):
            pass


# ---- the server process -------------------------------------------------------------------------

def serve(listener_fd, run_dir, parent_pid):
    """Run jobs until the parent is gone or sends SIGTERM. Jobs that come during the imports
    simply queue on the listening socket."""
    _die_with_parent(signal.SIGTERM)
    parent_pid = int(parent_pid)
    listener = socket.socket(fileno=int(listener_fd))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches Snakemake, which stops the jobs
    if os.getppid() != parent_pid:
        return
    _preload()
    workers = {}  # pidfd -> [pid, connection to the job's process, killed]
    try:
        while os.getppid() == parent_pid:
            conns = {w[1].fileno(): pidfd for pidfd, w in workers.items() if not w[2]}
            ready, _, _ = select.select([listener, *workers, *conns], [], [], 1.0)
            for fd in ready:
                if fd is listener:
                    _accept(listener, run_dir, workers)
                elif fd in workers:
                    _finish(fd, workers.pop(fd))
                elif conns[fd] in workers:  # the job's process stopped waiting: stop its worker
                    worker = workers[conns[fd]]
                    _kill_group(worker[0])
                    worker[2] = True
    finally:
        for pid, _, _ in workers.values():
            _kill_group(pid, signal.SIGKILL)


def _preload():
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a job that needs it imports it itself (and reports the error)
            print(f"snakedrizzle job server: could not preload {name}: {exc}", file=sys.stderr)


def _kill_group(pid, signum=signal.SIGTERM):
    try:
        os.killpg(pid, signum)
    except OSError:
        pass


def _accept(listener, run_dir, workers):
    conn, _ = listener.accept()
    fds = []
    try:
        _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        if uid != os.getuid():
            raise ConnectionError("job from another user")
        conn.settimeout(30)
        _, fds, _, _ = socket.recv_fds(conn, 1, 3)
        request = _recv(conn)
        if request is None or len(fds) != 3:
            raise ConnectionError("incomplete job request")
        conn.settimeout(None)
    except OSError:
        conn.close()
        for fd in fds:
            os.close(fd)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    # No SIGTERM between the fork and the worker's own handler: the server's would unwind the
    # worker through serve().
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    server_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        for pidfd, (_, other, _) in workers.items():  # other jobs must not wait on this worker
            os.close(pidfd)
            other.close()
        conn.close()
        listener.close()
        _work(request, fds, run_dir, server_pid)  # never returns
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    for fd in fds:
        os.close(fd)
    workers[os.pidfd_open(pid)] = [pid, conn, False]
    try:
        _send(conn, "started")  # from here on the job is the worker's, not its process's to run
    except OSError:
        pass


def _finish(pidfd, worker):
    pid, conn, _ = worker
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    try:
        _send(conn, ("signal", os.WTERMSIG(status)) if os.WIFSIGNALED(status)
              else ("exit", os.waitstatus_to_exitcode(status)))
    except OSError:
        pass
    conn.close()


# ---- a worker: one job's script ----------------------------------------------------------------

def _work(request, fds, run_dir, server_pid):
    global _worker
    status = 1
    try:
        _worker = True
        _die_with_parent(signal.SIGKILL)
        if os.getppid() != server_pid:  # the server died before the line above
            return
        os.setpgid(0, 0)  # its own group: the worker and its strip processes stop together
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        import tempfile

        tempfile.tempdir = None  # follow the job's TMPDIR
        start = time.perf_counter()
        status = _run_script(request["script"])
        if status == 0:
            benchmarks.record_worker(run_dir, request["job"], time.perf_counter() - start)
    except BaseException:
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        os._exit(status)


def _run_script(path):
    """Run ``path`` as ``python path`` would; returns the exit status."""
    import atexit
    import runpy

    try:
        runpy.run_path(path, run_name="__main__")
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    atexit._run_exitfuncs()  # noqa: SLF001  (what the interpreter does on the way out)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return status


def _exit_status(code):
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


# ---- the client (inside a job's process) -------------------------------------------------------

def submit(script, job):
    """Have the server run ``script`` (this job's script file) with this process's arguments,
    cwd, environment and standard streams. Returns the job's exit status, or None when no server
    took the job (then the caller runs the script itself)."""
    address = os.environ.get(ENV)
    if not address:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect("\0" + address)
            socket.send_fds(sock, [b"j"], [0, 1, 2])
            _send(sock, {"script": script, "argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ),
                         "job": job})
            if _recv(sock) != "started":
                return _no_server(address)
        except OSError:
            return _no_server(address)
        stopped = []

        def stop_worker(signum, _frame):  # Snakemake stops a job by signalling its process
            if not stopped:
                sock.shutdown(socket.SHUT_WR)  # the server then kills the worker and answers
            stopped.append(signum)

        signal.signal(signal.SIGTERM, stop_worker)
        signal.signal(signal.SIGINT, stop_worker)
        try:
            answer = _recv(sock)
        except OSError:
            answer = None
    return _job_status(answer, stopped)


def _no_server(address):
    """No server took the job: run it in this process (None), unless the Snakemake process that
    started the server (its pid is in the address) is gone. Then the run was killed and this job's
    process, orphaned while it started up, must not go on to write its products (status 1)."""
    try:
        os.kill(int(address.split("-")[2]), 0)
    except ProcessLookupError:
        print("snakedrizzle: the Snakemake process of this job is gone; not running it", file=sys.stderr)
        return 1
    except (ValueError, IndexError, OSError):
        pass
    return None


def _job_status(answer, stopped):
    if stopped:
        return 128 + stopped[0]
    if answer is None:
        print("snakedrizzle: the job server stopped while running this job", file=sys.stderr)
        return 1
    kind, value = answer
    if kind == "signal":
        print(f"snakedrizzle: the worker process running this job was killed by "
              f"{signal.Signals(value).name}", file=sys.stderr)
        return 1
    return value

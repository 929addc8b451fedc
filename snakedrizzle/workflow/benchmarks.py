"""The job server's side of Snakemake's ``benchmark:`` files.

Snakemake measures a job's process tree, which for a job run by the job server holds only the
waiting client. So each worker measures itself at its end (peak RSS and CPU time of the worker and
of its reaped strip processes, peak virtual size, storage I/O) and appends one JSON line to the run
directory; at the end of the run, after Snakemake has written the benchmark files, those numbers
replace the ones Snakemake took from the client.
"""
import json
import os

RECORDS = "benchmarks.jsonl"


def record_worker(run_dir, job, seconds):
    """Append this job's measurements (the worker and its reaped children) for ``stop``.

    max_rss is the worker's peak plus the largest strip process's (strips run alongside the
    worker). Like Snakemake's sum over a job's processes it counts shared pages once per process;
    with several strip processes it counts only the largest one."""
    import resource

    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    record = dict(job, worker_s=round(seconds, 4),
                  max_rss=(own.ru_maxrss + children.ru_maxrss) / 1024,  # KiB on Linux
                  max_vms=_proc_status_kib("VmPeak") / 1024,
                  cpu_time=own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
                  **_io_mb())
    fd = os.open(os.path.join(run_dir, RECORDS), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())  # one O_APPEND write: lines never mix
    finally:
        os.close(fd)


def _proc_status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _io_mb():
    """Bytes read from and written to storage, as Snakemake's benchmark reports them (MB)."""
    try:
        with open("/proc/self/io") as io:
            counts = dict(line.split(": ") for line in io.read().splitlines())
        return {"io_in": int(counts["read_bytes"]) / 2**20, "io_out": int(counts["write_bytes"]) / 2**20}
    except (OSError, KeyError, ValueError):
        return {}


def rewrite_benchmark_files(run_dir, workflow):
    """Replace the fields Snakemake measured on the waiting job process (memory, CPU, I/O) by the
    worker's, in the benchmark file of every job a worker ran. The wall time stays Snakemake's:
    it spans the whole job, worker included. USS/PSS are not measured for workers: NA."""
    records_path = os.path.join(run_dir, RECORDS)
    if not os.path.exists(records_path):
        return
    from snakemake.io import apply_wildcards

    with open(records_path) as lines:
        for line in lines:
            record = json.loads(line)
            pattern = workflow.get_rule(record["rule"]).benchmark
            if pattern is not None:
                path = apply_wildcards(str(pattern), record["wildcards"])
                if os.path.exists(path):
                    _rewrite_benchmark(path, record["iteration"], record)


def _measured_fields(record, seconds):
    fields = {"max_rss": record["max_rss"], "max_vms": record["max_vms"], "max_uss": "NA",
              "max_pss": "NA", "io_in": record.get("io_in", "NA"), "io_out": record.get("io_out", "NA"),
              "cpu_time": record["cpu_time"], "cpu_usage": 100 * record["cpu_time"]}
    fields["mean_load"] = 100 * record["cpu_time"] / max(seconds, record["worker_s"], 1e-9)
    return fields


def _rewrite_benchmark(path, iteration, record):
    with open(path) as f:
        lines = f.read().splitlines()
    if path.endswith(".jsonl"):
        row = json.loads(lines[iteration])
        row.update(_measured_fields(record, float(row["s"])))
        lines[iteration] = json.dumps(row, sort_keys=True, default=str)
    else:
        header, row = lines[0].split("\t"), lines[iteration + 1].split("\t")
        fields = _measured_fields(record, float(row[header.index("s")]))
        row = [_tsv(fields[name]) if name in fields else value for name, value in zip(header, row)]
        lines[iteration + 1] = "\t".join(row)
    tmp = f"{path}.jobserver.tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def _tsv(value):
    return f"{value:.2f}" if isinstance(value, float) else str(value)

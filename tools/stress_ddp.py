"""
Stress test of the 2-process DDP path (not part of the pytest suite): runs

    torchrun --standalone --nproc_per_node=2 train.py <the DDP test's tiny settings> --dataset=pystdlib_char

N times in a row while `--hogs` busy-loop processes keep the CPU cores busy (a loaded CI box is where
shutdown races show up), and counts the runs that failed: a non-zero exit, or `terminate called`, a Traceback
or a Warning anywhere in the output. Prints one line per run and then `N runs, F failures`; exits 1 if F > 0.
--starve_gloo also lowers the gloo worker threads (pt_gloo_runloop) of both ranks to nice 19, so that they lag
behind their main thread as on a heavily loaded box: the shutdown race of the old train.py aborted 5 of 11 runs so,
and 0 of 34 without it.

    python tools/stress_ddp.py                      # N=50, one hog per core, 30-70 s per run on a loaded 2-core box
    python tools/stress_ddp.py -n 10 --starve_gloo
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests'))
from conftest import TINY  # the tiny model every training test uses
from data.pystdlib_char.prepare import prepare

BAD = ('terminate called', 'Traceback', 'Warning')


def starve_gloo(out_dir, done):
    """Until `done` is set: nice 19 for the gloo worker threads of the processes training into out_dir."""
    seen = set()
    while not done.wait(0.05):
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                if str(out_dir) not in open(f'/proc/{pid}/cmdline').read():
                    continue
                for tid in set(os.listdir(f'/proc/{pid}/task')) - seen:
                    if open(f'/proc/{pid}/task/{tid}/comm').read().strip() == 'pt_gloo_runloop':
                        os.setpriority(os.PRIO_PROCESS, int(tid), 19)
                        seen.add(tid)
            except OSError:  # the process or thread has just exited
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument('-n', type=int, default=50, help='number of 2-process runs (default 50)')
    ap.add_argument('--hogs', type=int, default=os.cpu_count(), help='busy-loop processes (default: one per core)')
    ap.add_argument('--starve_gloo', action='store_true', help='nice 19 for the gloo worker threads (Linux)')
    args = ap.parse_args()
    if not (REPO / 'data' / 'pystdlib_char' / 'meta.json').exists():
        prepare()  # once, here: the runs below then measure training and shutdown only
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` below stops the hogs
    hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(args.hogs)]
    failures = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(1, args.n + 1):
                out = Path(tmp) / f'run{i}'
                cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                       'train.py', *TINY, '--dataset=pystdlib_char', f'--out_dir={out}', '--max_iters=8',
                       '--eval_interval=4', '--log_interval=1', '--gradient_accumulation_steps=4']
                t0, done = time.time(), threading.Event()
                if args.starve_gloo:
                    threading.Thread(target=starve_gloo, args=(out, done), daemon=True).start()
                try:
                    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
                    code, text = r.returncode, r.stdout + r.stderr
                except subprocess.TimeoutExpired as e:  # a hang at shutdown is a failure too
                    code = 'timeout'
                    text = ''.join(x if isinstance(x, str) else x.decode() for x in (e.stdout, e.stderr) if x)
                finally:
                    done.set()
                bad = [b for b in BAD if b in text]
                if code != 0 or bad:
                    failures += 1
                    print(f'run {i}/{args.n}: FAIL exit {code} {bad} ({time.time() - t0:.1f} s)\n'
                          + '\n'.join('    ' + line for line in text.strip().splitlines()[-25:]), flush=True)
                else:
                    print(f'run {i}/{args.n}: ok ({time.time() - t0:.1f} s)', flush=True)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    print(f'{args.n} runs, {failures} failures')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()

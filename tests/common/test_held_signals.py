"""Signals held off while a child process starts: run in a process of its own, as signals are process-wide."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal, subprocess, sys
    from voicecoach.common.held_signals import signals_held

    steps = []
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass                        # the eval loop's checks come and go: still held
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
            with open(f"/proc/{child.pid}/status") as status:
                blocked = int(next(l for l in status if l.startswith("SigBlk:")).split()[1], 16)
            child.kill(); child.wait()
            steps.append("block ran whole")
    except KeyboardInterrupt:
        steps.append("interrupted after")
    steps.append("SIGINT blocked in the child" if blocked >> (signal.SIGINT - 1) & 1 else "child open")
    steps.append("SIGTERM open in the child" if not blocked >> (signal.SIGTERM - 1) & 1 else "TERM blocked")
    steps.append("handler back" if signal.getsignal(signal.SIGINT) is signal.default_int_handler else "lost")
    steps.append("mask back" if signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, []) else "masked")
    print(" / ".join(steps))
    """
)


def test_a_ctrl_c_inside_waits_for_the_block_and_the_child_starts_deaf_to_it():
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False)
    assert res.stdout.strip() == (
        "block ran whole / interrupted after / SIGINT blocked in the child / SIGTERM open in the child"
        " / handler back / mask back"
    ), res.stderr


def test_outside_the_main_thread_nothing_is_held():
    code = textwrap.dedent(
        """
        import signal, threading
        from voicecoach.common.held_signals import signals_held
        seen = []
        def run():
            with signals_held():
                seen.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        t = threading.Thread(target=run); t.start(); t.join()
        print(signal.SIGINT in seen[0])
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert res.stdout.strip() == "False", res.stderr

"""``bprop playground`` as a command: options, the printed URL, a real server, Ctrl-C."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from bprop.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_help_lists_every_option_with_an_example():
    code, out, _ = cli("playground", "--help")
    assert code == 0
    for option in ("--host", "--port", "--no-browser", "--lang"):
        assert option in out
    assert "bprop[playground]" in out


@pytest.mark.parametrize("argv, words", [
    (["--lang", "fr"], "--lang: unknown language 'fr'; valid languages: en, zh"),
    (["--port", "70000"], "--port: expected 0 (any free port) to 65535"),
])
def test_bad_options_are_usage_errors(argv, words):
    code, _, err = cli("playground", *argv)
    assert code == 2 and err == f"error: {err[7:]}" and words in err and err.count("\n") == 1


def test_serves_the_page_and_stops_on_ctrl_c_with_one_line():
    pytest.importorskip("uvicorn")
    websockets = pytest.importorskip("websockets.sync.client")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OPENBLAS_NUM_THREADS="1")
    env.pop("BPROP_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-m", "bprop", "playground", "--no-browser", "--lang", "zh"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("bprop playground: http://127.0.0.1:"), line
        url = line.split()[2]
        deadline = time.monotonic() + 10
        while True:
            try:
                page = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert 'lang="zh"' in page
        with websockets.connect(url.replace("http", "ws") + "ws", origin=url.rstrip("/")) as ws:
            ws.send(json.dumps({"type": "hello"}))
            assert json.loads(ws.recv())["type"] == "data"
            ws.send(json.dumps({"type": "play"}))
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)              # while a session trains
            out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130 and err == "error: interrupted\n" and out == ""


def test_import_bprop_and_the_session_need_no_web_server():
    code = ("import sys, bprop, bprop.cli, bprop.playground.session; "
            "bprop.cli.build_parser(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'websockets')]; "
            "print(', '.join(bad)); sys.exit(1 if bad else 0)")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr

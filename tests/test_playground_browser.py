"""The playground in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Without a chromium these tests skip, saying why; with ``BPROP_REQUIRE_BROWSER=1``
(CI) a missing browser or Playwright is a failure instead. Screenshots go to
``$BPROP_TEST_ARTIFACTS`` (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from playground_support import running_server

REQUIRED = os.environ.get("BPROP_REQUIRE_BROWSER", "") not in ("", "0")
CHROMIUM = next((p for p in (os.environ.get("BPROP_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                             shutil.which("chromium-browser")) if p and os.path.exists(p)), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[test]')"
    if CHROMIUM is None:
        return "no chromium found (apt-get install -y chromium, or set BPROP_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"BPROP_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    if _missing():
        pytest.skip(_missing())
    with running_server() as (url, app):
        yield url, app


@pytest.fixture
def page(browser, server):
    url, _ = server
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    pg = context.new_page()
    errors = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url)
    pg.wait_for_function("document.querySelector('[data-testid=network] .neuron') !== null")
    pg.errors = errors
    yield pg
    context.close()


def _testid(name):
    return f"[data-testid={name}]"


def _number(pg, name) -> float:
    return float(pg.locator(_testid(name)).inner_text())


def _artefact(tmp_path, name):
    folder = os.environ.get("BPROP_TEST_ARTIFACTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


def test_play_lowers_the_loss_over_100_epochs_with_no_console_errors(page, tmp_path):
    start = _number(page, "loss-train")
    page.click(_testid("play"))
    page.wait_for_function("Number(document.querySelector('[data-testid=epoch]').textContent) >= 100",
                           timeout=30000)
    page.click(_testid("pause"))
    page.wait_for_timeout(200)
    assert _number(page, "epoch") >= 100
    assert _number(page, "loss-train") < start
    page.screenshot(path=_artefact(tmp_path, "playground.png"), full_page=True)
    assert page.errors == []


def test_step_mode_writes_out_bp1_to_bp4_with_numbers(page):
    page.click(_testid("step"))
    page.wait_for_selector("[data-testid=formulas] .eq[data-tag=BP4] .katex")
    panel = page.locator(_testid("formulas"))
    for tag in ("BP1", "BP2", "BP3", "BP4", "update"):
        assert panel.locator(f".eq[data-tag={tag}]").count() >= 1, tag
    text = panel.inner_text()
    assert "backward pass" in text and any(ch.isdigit() for ch in text)
    assert page.errors == []


def test_hovering_a_neuron_shows_z_a_and_delta(page):
    page.hover(_testid("neuron-1-0"))
    tip = page.locator(_testid("tooltip"))
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert "z =" in text and "a =" in text and "δ" in text
    page.hover(_testid("edge-1-0-0"))
    assert "∂C/∂w" in tip.inner_text()


def test_upload_a_csv_trains_on_it_and_a_bad_one_shows_an_error(page, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    good = tmp_path / "points.csv"
    good.write_text("x1,x2,x3,label\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f},{t}" for (a, b, c), t in zip(X, y)))
    page.set_input_files(_testid("upload-csv"), str(good))
    page.wait_for_function("document.querySelector('[data-testid=dataset]').value === 'csv'")
    page.wait_for_selector(_testid("neuron-0-2"))          # three inputs now
    assert page.locator(_testid("error")).is_hidden()
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,0\n3,oops,1\n")
    page.set_input_files(_testid("upload-csv"), str(bad))
    page.locator(_testid("error")).wait_for(state="visible")
    assert "bad.csv" in page.locator(_testid("error")).inner_text()


def test_export_model_loads_with_bp_load_and_predicts_the_same(page, server, tmp_path):
    import bprop as bp

    page.click(_testid("step"))
    page.wait_for_selector("[data-testid=formulas] .eq")
    with page.expect_download() as info:
        page.click(_testid("export-model"))
    path = tmp_path / "model.npz"
    info.value.save_as(path)
    net = bp.load(path)
    _, app = server
    X = np.random.default_rng(1).uniform(-1, 1, size=(20, 2))
    served = [s for s in app.state.sessions if s.steps >= 1 and s.net.n_params == net.n_params]
    assert any(np.array_equal(s.net.predict(X), net.predict(X)) for s in served)


def test_switch_the_language(page):
    page.click(_testid("lang"))
    assert page.locator(_testid("play")).inner_text() == "运行"
    page.click(_testid("step"))
    page.wait_for_selector("[data-testid=formulas] .eq")
    assert "反向传播" in page.locator(_testid("formulas")).inner_text()
    page.click(_testid("lang"))
    assert page.locator(_testid("play")).inner_text() == "play"


def test_controls_rebuild_the_network_and_the_link_reproduces_it(page, server, browser):
    page.click(_testid("add-layer"))
    page.wait_for_selector(_testid("neuron-3-0"))             # inputs, three hidden layers, output
    page.select_option(_testid("optimizer"), "adam")
    page.select_option(_testid("learning-rate"), "0.01")
    page.select_option(_testid("dataset"), "spiral")
    page.wait_for_selector(_testid("neuron-4-2"))             # three classes: three output neurons
    page.click(_testid("remove-layer"))
    page.wait_for_function("document.querySelector('[data-testid=neuron-4-0]') === null")
    page.click(_testid("step"))
    page.wait_for_selector("[data-testid=formulas] .eq")
    page.hover(_testid("edge-1-0-0"))
    assert "m =" in page.locator(_testid("tooltip")).inner_text()     # Adam's moments
    link = page.url
    other = browser.new_page()
    try:
        other.goto(link)
        other.wait_for_selector(_testid("neuron-3-2"))
        assert other.locator(_testid("optimizer")).input_value() == "adam"
        assert other.locator(_testid("dataset")).input_value() == "spiral"
        assert other.locator(_testid("learning-rate")).input_value() == "0.01"
    finally:
        other.close()


def test_deep_sigmoid_preset_shows_the_gradient_flow(page, tmp_path):
    page.select_option(_testid("preset"), "deep_sigmoid")
    page.wait_for_selector(_testid("neuron-6-0"))
    page.click(_testid("play"))
    page.wait_for_function("Number(document.querySelector('[data-testid=epoch]').textContent) >= 20",
                           timeout=30000)
    page.click(_testid("pause"))
    drawn = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=gradient-flow]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }""")
    assert drawn > 500
    page.check(_testid("show-grads"))
    page.check(_testid("discretize"))
    page.check(_testid("show-test"))
    page.screenshot(path=_artefact(tmp_path, "playground-deep-sigmoid.png"), full_page=True)
    assert page.errors == []

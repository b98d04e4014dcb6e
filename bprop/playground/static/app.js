/* bprop playground: draws what the server sends; every number comes from bprop (docs/PLAYGROUND.md). */
"use strict";
(function () {
  const I18N = {
    en: {play: "play", pause: "pause", step: "step", reset: "reset", epoch: "epoch", learning_rate: "learning rate",
      activation: "activation", optimizer: "optimiser", regularization: "regularisation", reg_rate: "regularisation rate",
      loss: "loss", init: "initialiser", bias_init: "bias init", preset: "preset", deep_sigmoid: "deep sigmoid network",
      data: "data", dataset: "data set", ratio: "train : test", noise: "noise", batch_size: "batch size",
      upload: "upload CSV", features: "features", add_layer: "+ layer", remove_layer: "− layer",
      show_grads: "edges show ∂C/∂w", output: "output", loss_train: "training loss", loss_test: "test loss",
      show_test: "show test data", discretize: "discretise output", gradient_flow: "gradient flow ‖∂C/∂W‖ (log scale)",
      export: "export", export_model: "model (.npz)", export_history: "history (.csv)",
      export_command: "bprop train command", formulas: "step mode: BP1–BP4 with the numbers",
      formulas_hint: "Press “step” to take one mini-batch step and see every equation with its numbers (row 1 of each matrix is the selected sample; click a point in the output to select one).",
      footer: "every number on this page is computed by bprop on this machine", lang: "中文",
      "forward pass": "forward pass", loss_section: "loss", "backward pass": "backward pass", update: "update",
      neuron: "neuron", layer: "layer", weight: "weight", units: "neurons", batchnorm: "BatchNorm", dropout: "dropout",
      sample: "sample", last_update: "last update Δw", grad: "∂C/∂w", step_size: "Adam step"},
    zh: {play: "运行", pause: "暂停", step: "单步", reset: "重置", epoch: "轮次", learning_rate: "学习率",
      activation: "激活函数", optimizer: "优化器", regularization: "正则化", reg_rate: "正则化率",
      loss: "损失函数", init: "初始化", bias_init: "偏置初始值", preset: "预设", deep_sigmoid: "深层 sigmoid 网络",
      data: "数据", dataset: "数据集", ratio: "训练 : 测试", noise: "噪声", batch_size: "批大小",
      upload: "上传 CSV", features: "输入特征", add_layer: "+ 层", remove_layer: "− 层",
      show_grads: "连线显示 ∂C/∂w", output: "输出", loss_train: "训练损失", loss_test: "测试损失",
      show_test: "显示测试数据", discretize: "离散化输出", gradient_flow: "梯度流 ‖∂C/∂W‖（对数坐标）",
      export: "导出", export_model: "模型 (.npz)", export_history: "训练历史 (.csv)",
      export_command: "bprop train 命令", formulas: "单步模式：BP1–BP4 代入数值",
      formulas_hint: "按“单步”执行一个小批量的训练步骤，查看每个公式及其数值（每个矩阵的第 1 行是所选样本；点击输出图中的点来选择样本）。",
      footer: "本页的每个数字都由本机上的 bprop 计算", lang: "English",
      "forward pass": "前向传播", loss_section: "损失", "backward pass": "反向传播", update: "权重更新 / 偏置更新",
      neuron: "神经元", layer: "层", weight: "权重", units: "神经元数", batchnorm: "批归一化", dropout: "随机失活",
      sample: "样本", last_update: "上次更新 Δw", grad: "∂C/∂w", step_size: "Adam 步长"},
  };
  const TAGS = {en: {BP1: "BP1 output error δ", BP2: "BP2 error δ", BP3: "BP3 ∂C/∂b", BP4: "BP4 ∂C/∂W", update: "update"},
    zh: {BP1: "BP1 输出层误差 δ", BP2: "BP2 误差 δ", BP3: "BP3 偏置梯度", BP4: "BP4 权重梯度", update: "权重更新 / 偏置更新"}};
  const FEATURES = [["x1", "x₁"], ["x2", "x₂"], ["x1^2", "x₁²"], ["x2^2", "x₂²"], ["x1x2", "x₁x₂"],
    ["sin_x1", "sin(x₁)"], ["sin_x2", "sin(x₂)"]];
  const DEFAULT = {dataset: "circles", noise: 0.05, train_ratio: 0.5, batch_size: 10, features: ["x1", "x2"],
    loss: "auto", optimizer: "sgd", learning_rate: 0.03, regularization: "none", reg_rate: 0, init: "auto",
    bias_init: 0, seed: 0, layers: [{units: 4, activation: "tanh", batchnorm: false, dropout: 0},
      {units: 2, activation: "tanh", batchnorm: false, dropout: 0}]};
  const $ = (id) => document.getElementById(id);
  let lang = document.querySelector('meta[name="bprop-lang"]').content;
  if (!I18N[lang]) lang = "en";
  let cfg = JSON.parse(JSON.stringify(DEFAULT));
  let data = null, snap = null, formulas = null, ws = null, queue = [];
  const CLASS_COLORS = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

  function t(key) { return (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key; }
  function applyLang() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $("lang").textContent = t("lang");
    buildLayerControls();
    renderFormulas();
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    const a = Math.abs(v);
    return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(4) : v.toFixed(6);
  }
  function showError(text) {
    const el = $("error");
    el.hidden = !text; el.textContent = text || "";
  }

  // ------------------------------------------------------------------ connection
  function send(msg) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); else queue.push(msg);
  }
  function connect() {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    ws = new WebSocket(url);
    ws.onopen = () => {
      sendConfig(true);
      queue.splice(0).forEach((m) => ws.send(JSON.stringify(m)));
    };
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onclose = () => showError("connection to the bprop server closed; restart 'bprop playground' and reload");
  }
  function onMessage(m) {
    if (m.type === "snapshot") { snap = m; drawSnapshot(); }
    else if (m.type === "data") {
      data = m;
      if (typeof m.seq === "number") answeredSeq = Math.max(answeredSeq, m.seq);
      if (m.config && answeredSeq === configSeq) syncControls(m.config);
      showError("");
    }
    else if (m.type === "formulas") { formulas = m; renderFormulas(); }
    else if (m.type === "error") {
      showError(m.message);
      if (typeof m.seq === "number") answeredSeq = Math.max(answeredSeq, m.seq);
      if (m.request === "config") send({type: "hello"});   // back to the settings the server kept
    }
    else if (m.type === "export") onExport(m);
    else if (m.type === "state") document.body.classList.toggle("playing", m.playing);
  }

  // ------------------------------------------------------------------ settings
  function writeHash() {
    const c = Object.assign({}, cfg);
    history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(c)));
  }
  function readHash() {
    if (location.hash.length < 2) return;
    try {
      const c = JSON.parse(decodeURIComponent(location.hash.slice(1)));
      if (c && typeof c === "object") cfg = Object.assign(JSON.parse(JSON.stringify(DEFAULT)), c);
      if (cfg.dataset === "csv") cfg.dataset = DEFAULT.dataset;   // an uploaded file is not in the link
    } catch (e) { showError("the link's settings (#…) could not be read; starting from the defaults"); }
  }
  // Each config sent is numbered; the server's settings (in its "data" answers) are applied only once the
  // latest config has been answered, so an answer to an older one never overwrites a newer local change.
  let configSeq = 0, answeredSeq = 0;
  function sendConfig(raw) {
    const msg = {type: "config", config: cfg, seq: ++configSeq};
    if (raw) ws.send(JSON.stringify(msg)); else send(msg);
  }
  function configure() { writeHash(); formulas = null; renderFormulas(); sendConfig(false); }
  function syncControls(c) {
    cfg = Object.assign(cfg, c);
    for (const id of ["dataset", "optimizer", "regularization", "loss", "init"]) $(id).value = cfg[id];
    $("learning_rate").value = String(cfg.learning_rate);
    $("reg_rate").value = String(cfg.reg_rate);
    $("bias_init").value = String(cfg.bias_init);
    $("noise").value = cfg.noise; $("train_ratio").value = cfg.train_ratio;
    $("batch_size").value = cfg.batch_size; $("batch_size_value").textContent = cfg.batch_size;
    if (cfg.layers.length) $("activation").value = cfg.layers[0].activation;
    buildFeatures(); buildLayerControls(); writeHash();
  }
  function buildFeatures() {
    const box = $("features"); box.innerHTML = "";
    for (const [key, label] of FEATURES) {
      const l = document.createElement("label");
      const c = document.createElement("input");
      c.type = "checkbox"; c.checked = cfg.features.includes(key); c.dataset.testid = "feature-" + key;
      c.setAttribute("data-testid", "feature-" + key); c.disabled = cfg.dataset === "csv";
      c.onchange = () => {
        const on = FEATURES.map((f) => f[0]).filter((k) => (k === key ? c.checked : cfg.features.includes(k)));
        if (!on.length) { c.checked = true; return; }
        cfg.features = on; configure();
      };
      l.append(c, " " + label); box.append(l);
    }
  }
  function buildLayerControls() {
    const box = $("layer-controls"); box.innerHTML = "";
    cfg.layers.forEach((layer, k) => {
      const d = document.createElement("div"); d.className = "layer-control";
      const minus = document.createElement("button"); minus.textContent = "−";
      minus.setAttribute("data-testid", `remove-neuron-${k}`);
      minus.onclick = () => { if (layer.units > 1) { layer.units--; configure(); } };
      const plus = document.createElement("button"); plus.textContent = "+";
      plus.setAttribute("data-testid", `add-neuron-${k}`);
      plus.onclick = () => { if (layer.units < 16) { layer.units++; configure(); } };
      const n = document.createElement("span"); n.textContent = `${layer.units} ${t("units")}`;
      const act = document.createElement("select"); act.setAttribute("data-testid", `activation-${k}`);
      for (const o of $("activation").options) act.add(new Option(o.text, o.value));
      act.value = layer.activation; act.onchange = () => { layer.activation = act.value; configure(); };
      const bn = document.createElement("label"); const bnc = document.createElement("input"); bnc.type = "checkbox";
      bnc.checked = layer.batchnorm; bnc.setAttribute("data-testid", `batchnorm-${k}`);
      bnc.onchange = () => { layer.batchnorm = bnc.checked; configure(); }; bn.append(bnc, " " + t("batchnorm"));
      const dr = document.createElement("select"); dr.setAttribute("data-testid", `dropout-${k}`);
      for (const p of [0, 0.1, 0.2, 0.3, 0.5]) dr.add(new Option(`${t("dropout")} ${p}`, String(p)));
      dr.value = String(layer.dropout); dr.onchange = () => { layer.dropout = Number(dr.value); configure(); };
      d.append(minus, n, plus, act, bn, dr); box.append(d);
    });
  }

  // ------------------------------------------------------------------ drawing
  function color(v, task, nClasses) {   // v: P(class 1) in [0, 1], class + confidence, or a regression output
    if (task === "classification" && nClasses > 2) {
      const k = Math.floor(v), c = CLASS_COLORS[k % CLASS_COLORS.length], p = v - k;
      return [c, 0.25 + 0.6 * Math.max(0, (p - 1 / nClasses) / (1 - 1 / nClasses))];
    }
    const x = task === "regression" ? Math.tanh(v) * 0.5 + 0.5 : v;
    return [x >= 0.5 ? CLASS_COLORS[1] : CLASS_COLORS[0], Math.min(1, Math.abs(x - 0.5) * 1.6)];
  }
  function paintGrid(ctx, size, values, w, h, task, nClasses, discrete) {
    const cw = w / size, ch = h / size;
    ctx.clearRect(0, 0, w, h);
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) {
      let v = values[i * size + j];
      if (discrete && task === "classification") v = nClasses > 2 ? Math.floor(v) + 0.999 : (v >= 0.5 ? 1 : 0);
      const [c, alpha] = color(v, task, nClasses);
      ctx.globalAlpha = alpha; ctx.fillStyle = c; ctx.fillRect(j * cw, i * ch, cw + 0.5, ch + 0.5);
    }
    ctx.globalAlpha = 1;
  }
  function drawOutput() {
    const cv = $("heatmap"), ctx = cv.getContext("2d");
    if (!snap) return;
    const hm = snap.heatmap;
    paintGrid(ctx, hm.size, hm.values, cv.width, cv.height, snap.task, snap.n_classes, $("discretize").checked);
    if (!data) return;
    const [lo, hi] = data.extent, sx = (x) => (x - lo) / (hi - lo) * cv.width, sy = (y) => (hi - y) / (hi - lo) * cv.height;
    const dot = (p, y, test) => {
      ctx.beginPath(); ctx.arc(sx(p[0]), sy(p[1]), 3, 0, 2 * Math.PI);
      ctx.fillStyle = data.task === "regression" ? (y >= 0 ? CLASS_COLORS[1] : CLASS_COLORS[0]) : CLASS_COLORS[y % CLASS_COLORS.length];
      ctx.fill(); ctx.lineWidth = 1; ctx.strokeStyle = test ? "#000" : "#fff"; ctx.stroke();
    };
    data.train.forEach((p, i) => dot(p, data.train_y[i], false));
    if ($("show-test").checked) data.test.forEach((p, i) => dot(p, data.test_y[i], true));
    const s = snap.selected_point;
    ctx.beginPath(); ctx.arc(sx(s[0]), sy(s[1]), 6, 0, 2 * Math.PI); ctx.lineWidth = 2; ctx.strokeStyle = "#000"; ctx.stroke();
  }
  function drawCurve() {
    const cv = $("curve"), ctx = cv.getContext("2d"), h = snap.history;
    ctx.clearRect(0, 0, cv.width, cv.height);
    if (h.length < 2) return;
    const vals = h.flatMap((r) => [r.loss, r.val_loss]).filter((v) => v !== null && isFinite(v));
    const max = Math.max(...vals, 1e-12);
    for (const [key, c] of [["loss", "#333"], ["val_loss", "#999"]]) {
      ctx.beginPath(); ctx.strokeStyle = c;
      h.forEach((r, i) => {
        if (r[key] === null) return;
        const x = i / (h.length - 1) * cv.width, y = cv.height - r[key] / max * (cv.height - 4);
        i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      });
      ctx.stroke();
    }
  }
  function drawGradFlow() {
    const cv = $("gradflow"), ctx = cv.getContext("2d"), g = snap.grad_history;
    ctx.clearRect(0, 0, cv.width, cv.height);
    if (!g.length) return;
    const layers = Object.keys(g[g.length - 1].norms);
    const lg = (v) => Math.log10(Math.max(v, 1e-12));
    const all = g.flatMap((r) => Object.values(r.norms).map(lg));
    const lo = Math.min(...all) - 0.1, hi = Math.max(...all) + 0.1;
    const y = (v) => cv.height - 14 - (lg(v) - lo) / Math.max(hi - lo, 1e-9) * (cv.height - 24);
    layers.forEach((l, k) => {
      ctx.beginPath(); ctx.strokeStyle = CLASS_COLORS[k % CLASS_COLORS.length];
      g.forEach((r, i) => { const x = g.length > 1 ? i / (g.length - 1) * (cv.width - 60) : 0;
        i ? ctx.lineTo(x, y(r.norms[l])) : ctx.moveTo(x, y(r.norms[l])); });
      ctx.stroke();
      const last = g[g.length - 1].norms[l];   // the bar of the latest epoch
      ctx.fillStyle = CLASS_COLORS[k % CLASS_COLORS.length];
      const bx = cv.width - 56 + k * (50 / layers.length);
      ctx.fillRect(bx, y(last), 50 / layers.length - 2, cv.height - 14 - y(last));
      ctx.font = "9px sans-serif"; ctx.fillText(`W${l}`, bx, cv.height - 3);   // the bar's layer
    });
    ctx.fillStyle = "#333"; ctx.font = "10px sans-serif";
    ctx.fillText(`10^${hi.toFixed(1)}`, 0, 10); ctx.fillText(`10^${lo.toFixed(1)}`, 0, cv.height - 2);
  }
  function neuronImage(map, size) {
    const c = document.createElement("canvas"); c.width = c.height = size;
    const ctx = c.getContext("2d");
    const lo = Math.min(...map), hi = Math.max(...map);
    for (let i = 0; i < size * size; i++) {
      const v = hi > lo ? (map[i] - lo) / (hi - lo) : 0.5;
      ctx.globalAlpha = Math.abs(v - 0.5) * 1.6; ctx.fillStyle = v >= 0.5 ? CLASS_COLORS[1] : CLASS_COLORS[0];
      ctx.fillRect(i % size, Math.floor(i / size), 1, 1);
    }
    return c.toDataURL();
  }
  const SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs) { const e = document.createElementNS(SVG, name); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }
  function tooltip(ev, html) {
    const tip = $("tooltip"); tip.innerHTML = html; tip.hidden = false;
    tip.style.left = (ev.pageX + 12) + "px"; tip.style.top = (ev.pageY + 12) + "px";
  }
  function hideTip() { $("tooltip").hidden = true; }
  function tex(s) { try { return katex.renderToString(s, {throwOnError: false}); } catch (e) { return s; } }
  function drawNetwork() {
    const svg = $("network"); svg.innerHTML = "";
    const widths = snap.widths, L = widths.length, W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
    const box = 30, xs = widths.map((_, i) => 40 + i * (W - 80) / Math.max(L - 1, 1));
    const ys = widths.map((n) => Array.from({length: n}, (_, k) => H / 2 + (k - (n - 1) / 2) * Math.min(42, (H - 40) / n)));
    const grads = $("show-grads").checked;
    let maxW = 1e-12;
    snap.layers.forEach((ly) => (grads ? ly.dW : ly.W).forEach((r) => r && r.forEach((v) => { maxW = Math.max(maxW, Math.abs(v)); })));
    snap.layers.forEach((ly, li) => {
      const l = li + 1;
      ly.W.forEach((row, k) => row.forEach((w, j) => {
        const v = grads ? (ly.dW ? ly.dW[k][j] : 0) : w;
        const line = el("line", {x1: xs[li] + box / 2, y1: ys[li][j], x2: xs[li + 1] - box / 2, y2: ys[li + 1][k],
          stroke: v >= 0 ? CLASS_COLORS[1] : CLASS_COLORS[0], "stroke-width": 0.5 + 5 * Math.abs(v) / maxW,
          class: "edge"});
        const hit = el("line", {x1: line.getAttribute("x1"), y1: line.getAttribute("y1"), x2: line.getAttribute("x2"),
          y2: line.getAttribute("y2"), stroke: "transparent", "stroke-width": 8, class: "edge-hit",
          "data-testid": `edge-${l}-${k}-${j}`});
        hit.addEventListener("mousemove", (ev) => {
          let s = `<b>W<sup>(${l})</sup>[${k},${j}]</b><br>w = ${fmt(w)}<br>${t("grad")} = ${fmt(ly.dW ? ly.dW[k][j] : null)}` +
            `<br>${t("last_update")} = ${fmt(ly.dW_update ? ly.dW_update[k][j] : null)}`;
          if (ly.adam_m) s += `<br>m = ${fmt(ly.adam_m[k][j])}, v = ${fmt(ly.adam_v[k][j])}`;
          const tr = snap.sample[li];
          s += `<br>${tex(`z^{(${l})}_{${k}} \\mathrel{+}= w\\,a^{(${l - 1})}_{${j}}`)}<br>` +
            `${t("sample")} ${snap.selected}: z = ${fmt(tr.z[k])}, a = ${fmt(tr.a[k])}, δ = ${fmt(tr.delta[k])}`;
          tooltip(ev, s);
        });
        hit.addEventListener("mouseleave", hideTip);
        svg.append(line, hit);
      }));
    });
    widths.forEach((n, li) => {
      for (let k = 0; k < n; k++) {
        const g = el("g", {class: "neuron", "data-testid": `neuron-${li}-${k}`});
        g.append(el("rect", {x: xs[li] - box / 2, y: ys[li][k] - box / 2, width: box, height: box, fill: "#fff", stroke: "#666"}));
        if (li > 0 && li < L - 1 && snap.neurons.maps[li - 1]) {
          g.append(el("image", {x: xs[li] - box / 2, y: ys[li][k] - box / 2, width: box, height: box,
            href: neuronImage(snap.neurons.maps[li - 1][k], snap.neurons.size), style: "image-rendering: pixelated"}));
        } else if (li === 0) {
          const label = el("text", {x: xs[li], y: ys[li][k] + 4, "text-anchor": "middle", "font-size": 9});
          label.textContent = snap.features[k]; g.append(label);
        }
        g.addEventListener("mousemove", (ev) => {
          if (li === 0) { tooltip(ev, `${t("neuron")} ${snap.features[k]}`); return; }
          const tr = snap.sample[li - 1], ly = snap.layers[li - 1];
          tooltip(ev, `<b>${t("layer")} ${li}, ${t("neuron")} ${k}</b> (${t("sample")} ${snap.selected})<br>` +
            `z = ${fmt(tr.z[k])}<br>a = ${fmt(tr.a[k])}<br>δ = ∂C/∂z = ${fmt(tr.delta[k])}` +
            (ly.b ? `<br>b = ${fmt(ly.b[k])}, ∂C/∂b = ${fmt(ly.db ? ly.db[k] : null)}` : "") +
            `<br>${tex(`z^{(${li})} = a^{(${li - 1})} W^{(${li})\\top} + b^{(${li})},\\ \\delta^{(${li})} = \\partial C/\\partial z^{(${li})}`)}`);
        });
        g.addEventListener("mouseleave", hideTip);
        svg.append(g);
      }
    });
  }
  function drawSnapshot() {
    $("epoch").textContent = String(snap.epoch);
    $("loss-train").textContent = fmt(snap.loss_train);
    $("loss-test").textContent = fmt(snap.loss_test);
    document.body.classList.toggle("playing", snap.playing);
    drawOutput(); drawCurve(); drawGradFlow(); drawNetwork();
  }
  function renderFormulas() {
    const box = $("formulas");
    if (!formulas) { box.innerHTML = `<p>${t("formulas_hint")}</p>`; return; }
    const names = {"loss": "loss_section"};
    let html = `<p>${t("step")} ${formulas.step} · ${t("sample")} ${formulas.sample} · n = ${formulas.rows}</p>`;
    for (const sec of formulas.sections) {
      html += `<h3>${t(names[sec.title] || sec.title)}</h3><ul>`;
      for (const e of sec.equations) {
        const tag = e.tag ? `<span class="tag">${(TAGS[lang] || TAGS.en)[e.tag] || e.tag}</span> ` : "";
        html += `<li class="eq" data-tag="${e.tag}">${tag}${tex(e.latex)}</li>`;
      }
      html += "</ul>";
    }
    box.innerHTML = html;
  }

  // ------------------------------------------------------------------ exports
  let pendingDownload = null;
  function onExport(m) {
    if (m.what === "command") { $("command").textContent = m.text; return; }
    const blob = m.what === "model"
      ? new Blob([Uint8Array.from(atob(m.base64), (c) => c.charCodeAt(0))], {type: "application/octet-stream"})
      : new Blob([m.text], {type: "text/csv"});
    const link = $(m.what === "model" ? "export-model" : "export-history");
    link.href = URL.createObjectURL(blob); link.dataset.fresh = "1";
    if (pendingDownload === m.what) { pendingDownload = null; link.click(); }
  }
  function exportLink(id, what) {
    $(id).addEventListener("click", (ev) => {
      if ($(id).dataset.fresh === "1") { $(id).dataset.fresh = ""; return; }   // the file just fetched
      ev.preventDefault(); pendingDownload = what; send({type: "export", what});
    });
  }

  // ------------------------------------------------------------------ wiring
  function init() {
    readHash();
    $("play").onclick = () => send({type: "play"});
    $("pause").onclick = () => send({type: "pause"});
    $("step").onclick = () => send({type: "step"});
    $("reset").onclick = () => { formulas = null; renderFormulas(); send({type: "reset"}); };
    $("lang").onclick = () => { lang = lang === "en" ? "zh" : "en"; applyLang(); };
    const num = (id, key) => $(id).addEventListener("change", () => { cfg[key] = Number($(id).value); configure(); });
    num("learning_rate", "learning_rate"); num("reg_rate", "reg_rate"); num("bias_init", "bias_init");
    num("noise", "noise"); num("train_ratio", "train_ratio"); num("batch_size", "batch_size");
    $("batch_size").addEventListener("input", () => { $("batch_size_value").textContent = $("batch_size").value; });
    for (const id of ["optimizer", "regularization", "loss", "init"]) $(id).addEventListener("change", () => { cfg[id] = $(id).value; configure(); });
    $("dataset").addEventListener("change", () => {
      if ($("dataset").value === "csv" && !(data && data.csv_name)) { $("upload").click(); $("dataset").value = cfg.dataset; return; }
      cfg.dataset = $("dataset").value; configure();
    });
    $("activation").addEventListener("change", () => { cfg.layers.forEach((l) => { l.activation = $("activation").value; }); configure(); });
    $("preset").addEventListener("change", () => {
      if ($("preset").value === "deep_sigmoid") {
        cfg.layers = Array.from({length: 6}, () => ({units: 6, activation: "sigmoid", batchnorm: false, dropout: 0}));
        cfg.init = "uniform"; cfg.optimizer = "sgd"; cfg.learning_rate = 0.3; configure();
      }
    });
    $("add-layer").onclick = () => { if (cfg.layers.length < 8) { cfg.layers.push({units: 2, activation: $("activation").value, batchnorm: false, dropout: 0}); configure(); } };
    $("remove-layer").onclick = () => { if (cfg.layers.length) { cfg.layers.pop(); configure(); } };
    for (const id of ["show-test", "discretize"]) $(id).addEventListener("change", () => snap && drawOutput());
    $("show-grads").addEventListener("change", () => snap && drawNetwork());
    $("upload").addEventListener("change", () => {
      const f = $("upload").files[0]; if (!f) return;
      if (f.size > (1 << 20)) { showError(`${f.name} is over 1024 KiB; the playground takes small data sets`); return; }
      f.text().then((text) => { formulas = null; renderFormulas(); send({type: "upload", name: f.name, csv: text}); });
    });
    $("heatmap").addEventListener("click", (ev) => {
      if (!data) return;
      const r = $("heatmap").getBoundingClientRect(), [lo, hi] = data.extent;
      const x = lo + (ev.clientX - r.left) / r.width * (hi - lo), y = hi - (ev.clientY - r.top) / r.height * (hi - lo);
      let best = 0, bd = Infinity;
      data.train.forEach((p, i) => { const d = (p[0] - x) ** 2 + (p[1] - y) ** 2; if (d < bd) { bd = d; best = i; } });
      send({type: "select", index: best});
    });
    exportLink("export-model", "model"); exportLink("export-history", "history");
    $("export-command").onclick = () => send({type: "export", what: "command"});
    syncControls(cfg); applyLang(); connect();
  }
  init();
})();

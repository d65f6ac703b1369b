/* FER Studio in the browser: the Python pipeline (MTCNN, eye-aligned crops, the classifier; web/pipeline.js) runs
 * in a worker (web/worker.js) with onnxruntime-web from ./ort/; nothing is uploaded. The webcam is drawn at the
 * camera's rate with the latest labels while the worker analyses the newest frame (as core/inference/live.py).
 * Tests drive window.ferPredict and read window.ferLast and window.ferStats. */
"use strict";

(() => {
  const config = window.FER_CONFIG; // written by core/export/web.py: classes, preprocessing (the model's spec)
  const UPLOAD_SIDE = 640; // Predictor's detect_side for photos
  const LIVE_SIDE = 320; // core/inference/live.LIVE_DETECT_SIDE: frames shrunk to this for detection
  // core/inference/draw.FACE_COLOURS: face n has colour n - 1 (mod 10), as in the Python app
  const FACE_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999",
                        "#8C564B", "#17BECF"];
  const $ = (id) => document.getElementById(id);
  const view = $("view");
  const viewContext = view.getContext("2d", { willReadFrequently: true });
  let worker = null, stream = null, nextId = 0, liveFaces = [], busy = false;
  const waiting = new Map();
  const stats = { drawn: 0, labelled: 0, analyses: 0, analysisMs: 0, labelAgeMs: 0, started: 0, threads: 0, faces: 0 };
  window.ferStats = stats;

  function setStatus(text, error = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", error);
  }

  function ask(message, transfer = []) {
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  function onWorkerMessage({ data }) {
    const pending = waiting.get(data.id);
    if (!pending) return;
    waiting.delete(data.id);
    if (data.type === "error") pending.reject(new Error(data.message));
    else pending.resolve(data.result);
  }

  function predict(rgba, width, height, options, live = false) {
    const copy = new Uint8Array(rgba); // the worker takes the buffer over
    return ask({ type: "predict", rgba: copy.buffer, width, height, options, live }, [copy.buffer]);
  }

  /* ---------- drawing, as core/inference/draw.annotate ---------- */

  function colour(number) { return FACE_COLOURS[(number - 1) % FACE_COLOURS.length]; }

  function textColour(hex) { // WCAG luminance, as draw.text_colour
    const linear = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2] > 0.18 ? "#000" : "#fff";
  }

  function labelText(context, number, face, faceWidth, canvasWidth, alone) {
    // draw.fitting_text: the longest that fits 1.5 faces; a face alone has no neighbour to cover
    const percent = `${Math.round(100 * face.confidence)}%`;
    const candidates = [`${number} ${face.label} ${percent}`, `${number} ${face.label}`, `${number}`];
    const room = alone ? canvasWidth : Math.min(faceWidth * 1.5, canvasWidth);
    return candidates.find((text, i) => i === candidates.length - 1 || context.measureText(text).width + 4 <= room);
  }

  function drawFaces(context, faces, width, height) {
    const line = Math.max(2, Math.round(Math.max(width, height) / 250));
    const font = Math.max(14, Math.round(Math.max(width, height) / 30));
    context.font = `${font}px sans-serif`;
    context.textBaseline = "top";
    faces.forEach((face, i) => {
      if (!face.box) return;
      const [x0, y0, x1, y1] = face.box;
      context.lineWidth = line;
      context.strokeStyle = colour(i + 1);
      context.strokeRect(x0, y0, x1 - x0, y1 - y0);
    });
    faces.forEach((face, i) => { // labels after every box, so no box line crosses a label
      const [x0, y0, x1] = face.box || [0, 0, width - 1];
      const text = labelText(context, i + 1, face, x1 - x0, width, faces.length === 1);
      const w = Math.min(width, Math.round(context.measureText(text).width) + 4), h = font + 6;
      const left = Math.min(Math.max(0, Math.round(x0)), width - w);
      const top = Math.min(y0 - h >= 0 ? Math.round(y0) - h : Math.max(0, Math.round(y0)), height - h);
      context.fillStyle = colour(i + 1);
      context.fillRect(left, top, w, h);
      context.fillStyle = textColour(colour(i + 1));
      context.fillText(text, left + 2, top + 3);
    });
  }

  function drawCrop(crop) {
    const size = config.preprocessing.input_size, canvas = $("crop");
    canvas.width = canvas.height = size;
    const pixels = new ImageData(size, size);
    crop.forEach((v, i) => pixels.data.set([v, v, v, 255], i * 4));
    canvas.getContext("2d").putImageData(pixels, 0, 0);
  }

  function showFaces(faces) {
    const first = faces[0];
    $("top").textContent = first ? `${first.label} ${(100 * first.confidence).toFixed(1)}%` : "no face";
    $("faces").textContent = faces.map((f, i) => `face ${i + 1}: ${f.label} ${Math.round(100 * f.confidence)}%`).join(" · ");
    $("bars").replaceChildren(...(first ? config.classes.flatMap((name, i) => {
      const label = Object.assign(document.createElement("span"), { textContent: name });
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.append(Object.assign(document.createElement("span"), { style: `width:${100 * first.probabilities[i]}%` }));
      const value = Object.assign(document.createElement("span"),
                                  { className: "value", textContent: `${(100 * first.probabilities[i]).toFixed(1)}%` });
      return [label, bar, value];
    }) : []));
    if (first && first.crop) drawCrop(first.crop);
  }

  /* ---------- upload ---------- */

  async function onFile(file) {
    stopCamera();
    if (!worker || window.ferReady !== true) {
      if (window.ferReady !== "error") setStatus("Still loading the models: try again in a moment.");
      return;
    }
    const url = URL.createObjectURL(file);
    const image = new Image(); // an <img> applies the EXIF orientation, as core/images.open_image does
    image.src = url;
    try {
      await image.decode();
      const { naturalWidth: width, naturalHeight: height } = image;
      view.width = width;
      view.height = height;
      viewContext.fillStyle = "white"; // transparent pixels become white, as core/images.to_gray does
      viewContext.fillRect(0, 0, width, height);
      viewContext.drawImage(image, 0, 0);
      const rgba = viewContext.getImageData(0, 0, width, height).data;
      const result = await predict(rgba, width, height, { maxSide: UPLOAD_SIDE });
      drawFaces(viewContext, result.faces, width, height);
      showFaces(result.faces);
      window.ferLast = { source: "upload", ...result };
      setStatus(`${file.name}: ${width}×${height}, ${result.message}`);
    } catch (error) {
      setStatus(`Could not read this image: ${error.message || error}`, true);
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  /* ---------- webcam: drawn at the camera's rate, analysed in the worker on the newest frame ---------- */

  async function startCamera() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (error) {
      setStatus(`No webcam: ${error.message || error}`, true);
      return;
    }
    const video = $("video");
    video.srcObject = stream;
    await video.play();
    worker.postMessage({ type: "reset" });
    liveFaces = [];
    Object.assign(stats, { drawn: 0, labelled: 0, analyses: 0, started: performance.now() });
    $("camera-start").disabled = true;
    $("camera-stop").disabled = false;
    setStatus("Webcam running: every frame is analysed here, in this browser");
    nextFrame(video);
  }

  function nextFrame(video) {
    if (!stream) return;
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(() => cameraFrame(video));
    else requestAnimationFrame(() => cameraFrame(video));
  }

  function analyse(rgba, width, height) {
    busy = true;
    const grabbed = performance.now();
    predict(rgba, width, height, { maxSide: LIVE_SIDE, whole: false }, true).then((result) => {
      if (!stream) return;
      liveFaces = result.faces;
      stats.analyses += 1;
      stats.analysisMs = performance.now() - grabbed;
      stats.faces = result.faces.length;
      showFaces(result.faces);
      window.ferLast = { source: "camera", ...result, frames: stats.analyses, time: performance.now(), grabbed };
    }).catch((error) => {
      stopCamera(); // one failure would repeat on every frame: stop and say why
      setStatus(`The analysis failed on a webcam frame: ${error.message || error}`, true);
    }).finally(() => { busy = false; });
  }

  function cameraFrame(video) {
    if (!stream) return;
    const width = video.videoWidth, height = video.videoHeight;
    if (width && height) {
      if (view.width !== width || view.height !== height) { view.width = width; view.height = height; }
      viewContext.drawImage(video, 0, 0, width, height);
      if (!busy) analyse(viewContext.getImageData(0, 0, width, height).data, width, height);
      if (liveFaces.length) {
        drawFaces(viewContext, liveFaces, width, height);
        stats.labelled += 1;
        stats.labelAgeMs = performance.now() - window.ferLast.grabbed; // how old the analysed frame is
      }
      stats.drawn += 1;
      if (window.ferOnDrawn) window.ferOnDrawn(view, liveFaces.length > 0); // benchmarks: which frame, labelled
      if (stats.drawn % 15 === 0) describeStats();
    }
    nextFrame(video);
  }

  function describeStats() {
    const seconds = (performance.now() - stats.started) / 1000;
    $("live-stats").textContent = `${(stats.labelled / seconds).toFixed(1)} frames a second shown with labels · ` +
      `faces analysed ${(stats.analyses / seconds).toFixed(1)} times a second (the last took ` +
      `${stats.analysisMs.toFixed(0)} ms) · ${stats.faces} face${stats.faces === 1 ? "" : "s"} · ` +
      `${stats.threads} thread${stats.threads === 1 ? "" : "s"}`;
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("camera-start").disabled = window.ferReady !== true;
    $("camera-stop").disabled = true;
  }

  /* ---------- test hooks and start-up ---------- */

  window.ferPredict = async (pixels, width, height, options = {}) => {
    const result = await predict(Uint8Array.from(pixels), width, height, options);
    result.faces.forEach((face) => { face.crop = Array.from(face.crop); });
    return result;
  };

  window.ferResizeGray = (pixels, width, height, outW, outH) =>
    Array.from(FerPipeline.resizePixels(Uint8Array.from(pixels), width, height, 1, outW, outH));

  const FILE_HELP = "This page was opened from a file (file://). Browsers do not let a file:// page load the " +
    "models or the WebAssembly runtime, so it cannot run this way. Serve the folder instead, e.g.\n" +
    "  python -m http.server --directory <this folder> 8000\nand open http://localhost:8000/";

  async function start() {
    if (!config || typeof FerPipeline === "undefined") {
      setStatus("config.js or pipeline.js is missing: export the page with " +
                "`python -m core export-web --checkpoint C --out site/`.", true);
      return;
    }
    $("model-info").textContent = `Model: ${config.model} · classes: ${config.classes.join(", ")} · faces found ` +
      `by MTCNN and eye-aligned, as in FER Studio · onnxruntime-web ${config.onnxruntime_web}`;
    if (location.protocol === "file:") {
      setStatus(FILE_HELP, true);
      window.ferReady = "error";
      return;
    }
    try {
      worker = new Worker("worker.js");
      worker.onmessage = onWorkerMessage;
      const ready = new Promise((resolve, reject) => {
        worker.addEventListener("message", ({ data }) => {
          if (data.type === "ready") resolve(data.threads);
          else if (data.type === "error" && data.id === 0) reject(new Error(data.message));
        });
        worker.onerror = (event) => reject(new Error(event.message || "the worker did not start"));
      });
      worker.postMessage({ type: "load", id: 0, base: document.baseURI, config });
      stats.threads = await ready;
    } catch (error) {
      setStatus(`The models did not load: ${error.message || error}`, true);
      window.ferReady = "error";
      return;
    }
    $("camera-start").disabled = false;
    setStatus("Ready: upload an image or start the webcam.");
    window.ferReady = true;
    if (new URLSearchParams(location.search).has("camera")) startCamera(); // e.g. the Gradio tab's "start now"
  }

  $("file").addEventListener("change", (event) => event.target.files[0] && onFile(event.target.files[0]));
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", () => { stopCamera(); setStatus("Webcam stopped"); });
  $("camera-start").disabled = true;
  start();
})();

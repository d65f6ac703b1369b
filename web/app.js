/* FER Studio in the browser: find the face, crop it as core/inference/predictor.py does without eye alignment (no landmarks here), run the ONNX model with
 * onnxruntime-web (wasm, one thread, runtime files served from ./ort/), show the class probabilities.
 * Tests drive window.ferPredictCrops / window.ferPredictImageData and read window.ferLast. */
"use strict";

(() => {
  const config = window.FER_CONFIG; // written by core/export/web.py: classes, preprocessing (the model's spec)
  const spec = config && config.preprocessing; // input_size, mean, std, tta: core/data/preprocessing.Preprocessing
  const SMOOTH_FRAMES = 5; // webcam: average the last few frames so the bars do not flicker
  const GUIDE_FRACTION = 0.6; // guide box side, as a share of the shorter image side (core/web_export.guide_box)
  const FACE_MARGIN = 0.2; // as core/faces.crop_face
  const $ = (id) => document.getElementById(id);
  const work = document.createElement("canvas"); // full-resolution copy of the image or frame, read back
  const workContext = work.getContext("2d", { willReadFrequently: true });
  let session = null;
  let detector = null;
  let stream = null;
  const history = [];

  function setStatus(text, error = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", error);
  }

  async function loadSession() {
    ort.env.wasm.wasmPaths = new URL("ort/", document.baseURI).href; // local copies: no CDN at run time
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation headers that static hosts rarely send
    ort.env.wasm.proxy = false;
    return ort.InferenceSession.create(new URL("model.onnx", document.baseURI).href,
                                       { executionProviders: ["wasm"] });
  }

  function makeDetector() {
    // The Shape Detection API exists in few browsers (not Chromium on Linux); the guide box is the fallback.
    try {
      return "FaceDetector" in window ? new window.FaceDetector({ maxDetectedFaces: 1, fastMode: true }) : null;
    } catch (error) {
      return null;
    }
  }

  /* ---------- preprocessing: a byte-for-byte copy of PIL's convert("L") and resize(BILINEAR) ---------- */

  function grayFromRGBA(rgba, count) {
    // PIL's rgb2l: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, i.e. 0.299R + 0.587G + 0.114B rounded.
    const gray = new Uint8Array(count);
    for (let i = 0, j = 0; i < count; i++, j += 4) {
      gray[i] = (rgba[j] * 19595 + rgba[j + 1] * 38470 + rgba[j + 2] * 7471 + 0x8000) >> 16;
    }
    return gray;
  }

  function triangleCoefficients(inSize, outSize) {
    // PIL's precompute_coeffs: a triangle filter, widened when shrinking, normalised per output pixel (floats).
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const support = filterScale;
    const ksize = Math.ceil(support) * 2 + 1;
    const bounds = new Int32Array(outSize * 2);
    const weights = new Float64Array(outSize * ksize);
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const xmin = Math.max(0, Math.trunc(center - support + 0.5));
      const count = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
      let total = 0;
      for (let x = 0; x < count; x++) {
        weights[xx * ksize + x] = Math.max(0, 1 - Math.abs((x + xmin - center + 0.5) / filterScale));
        total += weights[xx * ksize + x];
      }
      for (let x = 0; x < count && total !== 0; x++) weights[xx * ksize + x] /= total;
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = count;
    }
    return { bounds, weights, ksize };
  }

  function pilCoefficients(inSize, outSize) {
    // + PIL's normalize_coeffs_8bpc: the float weights as 22-bit integers, for the uint8 resize.
    const { bounds, weights, ksize } = triangleCoefficients(inSize, outSize);
    return { bounds, weights: weights.map((w) => Math.floor(0.5 + w * (1 << 22))), ksize };
  }

  function clip8(sum) {
    return sum >= 1 << 30 ? 255 : sum <= 0 ? 0 : Math.floor(sum / (1 << 22));
  }

  function resizeGray(src, width, height, outW, outH) {
    // Two passes as PIL does: horizontal into an 8-bit temporary, then vertical, each rounded and clipped.
    let image = src, w = width;
    if (outW !== width) {
      const { bounds, weights, ksize } = pilCoefficients(width, outW);
      image = new Uint8Array(outW * height);
      for (let y = 0; y < height; y++) {
        for (let xx = 0; xx < outW; xx++) {
          let sum = 1 << 21;
          for (let x = 0; x < bounds[xx * 2 + 1]; x++) sum += src[y * width + bounds[xx * 2] + x] * weights[xx * ksize + x];
          image[y * outW + xx] = clip8(sum);
        }
      }
      w = outW;
    }
    if (outH === height) return image;
    const { bounds, weights, ksize } = pilCoefficients(height, outH);
    const out = new Uint8Array(w * outH);
    for (let yy = 0; yy < outH; yy++) {
      for (let x = 0; x < w; x++) {
        let sum = 1 << 21;
        for (let y = 0; y < bounds[yy * 2 + 1]; y++) sum += image[(bounds[yy * 2] + y) * w + x] * weights[yy * ksize + y];
        out[yy * w + x] = clip8(sum);
      }
    }
    return out;
  }

  function cropSquare(gray, width, height, box) {
    // Edge padding where the box leaves the image, as np.pad(mode="edge") in core/faces.crop_face.
    const { left, top, side } = box;
    const out = new Uint8Array(side * side);
    for (let y = 0; y < side; y++) {
      const row = Math.min(height - 1, Math.max(0, top + y)) * width;
      for (let x = 0; x < side; x++) out[y * side + x] = gray[row + Math.min(width - 1, Math.max(0, left + x))];
    }
    return out;
  }

  function normalise(crop) {
    const { mean, std } = spec;
    return Float32Array.from(crop, (v) => (v / 255 - mean) / std);
  }

  /* ---------- test-time augmentation: the views of core/data/preprocessing.tta_views ---------- */

  function ttaViews(size, tta) {
    const whole = [[0, 0, size, false], [0, 0, size, true]];
    if (tta === "none") return whole.slice(0, 1);
    if (tta === "flip") return whole;
    const crop = Math.max(1, Math.round(size * 11 / 12)), edge = size - crop;
    const corners = [[0, 0], [0, edge], [edge, 0], [edge, edge], [Math.floor(edge / 2), Math.floor(edge / 2)]];
    return whole.concat(corners.flatMap(([top, left]) => [[top, left, crop, false], [top, left, crop, true]]));
  }

  function cutView(input, size, [top, left, side, flip]) {
    // The square (top, left, side) of normalised floats resized back to size x size (float triangle filter,
    // as core/data/preprocessing.resize_numpy), mirrored when asked.
    const { bounds, weights, ksize } = triangleCoefficients(side, size);
    const rows = new Float64Array(size * side); // vertical pass first, as resize_numpy: weights @ x @ weights.T
    for (let yy = 0; yy < size; yy++) for (let x = 0; x < side; x++) {
      let sum = 0;
      for (let k = 0; k < bounds[yy * 2 + 1]; k++) sum += input[(top + bounds[yy * 2] + k) * size + left + x] * weights[yy * ksize + k];
      rows[yy * side + x] = sum;
    }
    const out = new Float32Array(size * size);
    for (let y = 0; y < size; y++) for (let xx = 0; xx < size; xx++) {
      let sum = 0;
      for (let k = 0; k < bounds[xx * 2 + 1]; k++) sum += rows[y * side + bounds[xx * 2] + k] * weights[xx * ksize + k];
      out[y * size + (flip ? size - 1 - xx : xx)] = sum;
    }
    return out;
  }

  /* ---------- the model ---------- */

  function softmax(logits, offset, count) {
    const row = Array.from(logits.subarray(offset, offset + count));
    const top = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - top));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((v) => v / total);
  }

  async function predictCrops(input, n) {
    // n preprocessed crops (n*S*S normalised floats) -> n rows of class probabilities, plus inference ms.
    const size = spec.input_size;
    const tensor = new ort.Tensor("float32", Float32Array.from(input), [n, 1, size, size]);
    const start = performance.now();
    const output = await session.run({ input: tensor });
    const ms = performance.now() - start;
    const logits = output.logits.data, classes = config.classes.length;
    return { rows: Array.from({ length: n }, (_, i) => softmax(logits, i * classes, classes)), ms };
  }

  function calibrated(probabilities) {
    // Logit adjustment and temperature scaling, as core/data/preprocessing.calibrated: softmax((log(p) + b) / T).
    const t = spec.temperature || 1, bias = spec.logit_bias || [];
    if (t === 1 && bias.length === 0) return probabilities;
    const logs = probabilities.map((p, c) => (Math.log(Math.max(p, 1e-12)) + (bias[c] || 0)) / t);
    return softmax(Float32Array.from(logs), 0, logs.length);
  }

  async function classifyCrop(crop) {
    // One uint8 crop -> probabilities averaged over the model's TTA views (as Predictor), in one batch.
    const size = spec.input_size, x = normalise(crop), views = ttaViews(size, spec.tta);
    const input = new Float32Array(views.length * size * size);
    views.forEach((view, i) => input.set(cutView(x, size, view), i * size * size));
    const { rows, ms } = await predictCrops(input, views.length);
    const mean = rows[0].map((_, c) => rows.reduce((total, row) => total + row[c], 0) / rows.length);
    return { probabilities: calibrated(mean), ms };
  }

  /* ---------- finding the face ---------- */

  function guideBox(width, height) {
    // Integer maths that core/web_export.guide_box repeats exactly (0.6 * side never ends in .5).
    const side = Math.round(GUIDE_FRACTION * Math.min(width, height));
    return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), side, guide: true };
  }

  async function findFace(width, height) {
    if (!detector) return guideBox(width, height);
    const faces = await detector.detect(work).catch(() => []);
    if (!faces.length) return guideBox(width, height);
    const { x, y, width: w, height: h } = faces[0].boundingBox; // square + margin, as core/faces.square_box
    const side = Math.round(Math.max(w, h) * (1 + FACE_MARGIN));
    return { left: Math.round(x + w / 2 - side / 2), top: Math.round(y + h / 2 - side / 2), side, guide: false };
  }

  async function classifySource(source, width, height) {
    work.width = width;
    work.height = height;
    workContext.fillStyle = "white"; // transparent pixels become white, as core/images.to_gray does
    workContext.fillRect(0, 0, width, height);
    workContext.drawImage(source, 0, 0, width, height);
    const rgba = workContext.getImageData(0, 0, width, height).data;
    const box = await findFace(width, height);
    const gray = grayFromRGBA(rgba, width * height);
    const size = spec.input_size;
    const crop = resizeGray(cropSquare(gray, width, height, box), box.side, box.side, size, size);
    return { ...(await classifyCrop(crop)), box, crop };
  }

  /* ---------- drawing ---------- */

  function drawView(source, width, height, box) {
    const view = $("view");
    view.width = width;
    view.height = height;
    const context = view.getContext("2d");
    context.drawImage(source, 0, 0, width, height);
    context.lineWidth = Math.max(2, width / 200);
    context.strokeStyle = box.guide ? "#ffcc00" : "#00d060";
    context.setLineDash(box.guide ? [12, 8] : []);
    context.strokeRect(box.left, box.top, box.side, box.side);
  }

  function drawCrop(crop) {
    const size = spec.input_size, canvas = $("crop");
    canvas.width = canvas.height = size;
    const pixels = new ImageData(size, size);
    crop.forEach((v, i) => pixels.data.set([v, v, v, 255], i * 4));
    canvas.getContext("2d").putImageData(pixels, 0, 0);
  }

  function showProbabilities(probabilities, ms) {
    const best = probabilities.indexOf(Math.max(...probabilities));
    $("top").textContent = `${config.classes[best]} (${(100 * probabilities[best]).toFixed(1)}%)`;
    $("bars").replaceChildren(...config.classes.flatMap((name, i) => {
      const label = Object.assign(document.createElement("span"), { textContent: name });
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.append(Object.assign(document.createElement("span"), { style: `width:${100 * probabilities[i]}%` }));
      const value = Object.assign(document.createElement("span"),
                                  { className: "value", textContent: `${(100 * probabilities[i]).toFixed(1)}%` });
      return [label, bar, value];
    }));
    $("ms").textContent = ms.toFixed(1);
  }

  function describeBox(box) {
    $("guide-note").textContent = box.guide
      ? `${detector ? "The FaceDetector found no face" : "No face detector in this browser"}: put the face ` +
        "inside the dashed square guide box (60% of the shorter side, centred). That square is what the model sees."
      : "Face found by the browser's FaceDetector (green box, grown by 20% as in training).";
  }

  function publish(source, result, smoothed) {
    window.ferLast = { source, probabilities: smoothed, raw: result.probabilities, ms: result.ms,
                       box: result.box, frames: history.length, time: performance.now() };
  }

  /* ---------- upload ---------- */

  async function onFile(file) {
    stopCamera();
    if (!session) { // the status line already says why when loading failed
      if (window.ferReady !== "error") setStatus("Still loading the model: try again in a moment.");
      return;
    }
    const url = URL.createObjectURL(file);
    const image = new Image(); // an <img> applies the EXIF orientation, as core/images.open_image does
    image.src = url;
    try {
      await image.decode();
      const { naturalWidth: width, naturalHeight: height } = image;
      const result = await classifySource(image, width, height);
      drawView(image, width, height, result.box);
      drawCrop(result.crop);
      describeBox(result.box);
      showProbabilities(result.probabilities, result.ms);
      publish("upload", result, result.probabilities);
      setStatus(`${file.name}: ${width}×${height}`);
    } catch (error) {
      setStatus(`Could not read this image: ${error.message || error}`, true);
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  /* ---------- webcam ---------- */

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
    history.length = 0;
    $("camera-start").disabled = true;
    $("camera-stop").disabled = false;
    setStatus("Webcam running");
    requestAnimationFrame(cameraFrame);
  }

  async function cameraFrame() {
    const video = $("video");
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth) {
      const result = await classifySource(video, video.videoWidth, video.videoHeight).catch((error) => {
        stopCamera(); // one failure would repeat on every frame: stop and say why
        setStatus(`The model failed on a webcam frame: ${error.message || error}`, true);
      });
      if (!result) return;
      if (!stream) return; // stopped while the model ran
      history.push(result.probabilities);
      if (history.length > SMOOTH_FRAMES) history.shift();
      const smoothed = config.classes.map((_, c) => history.reduce((s, p) => s + p[c], 0) / history.length);
      drawView(video, video.videoWidth, video.videoHeight, result.box);
      drawCrop(result.crop);
      describeBox(result.box);
      showProbabilities(smoothed, result.ms);
      $("smoothing").textContent = `(bars: mean of the last ${history.length} frames)`;
      publish("camera", result, smoothed);
    }
    requestAnimationFrame(cameraFrame); // the next frame only once this one is done: no queue builds up
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("camera-start").disabled = !session;
    $("camera-stop").disabled = true;
  }

  /* ---------- test hooks and start-up ---------- */

  window.ferPredictCrops = async (input, n) => (await predictCrops(input, n)).rows;

  window.ferPredictImageData = async (imageData) => {
    // A square crop (any size; gray or colour) -> probabilities, through the same gray + resize as the page.
    const { width, height, data } = imageData, size = spec.input_size;
    const crop = resizeGray(grayFromRGBA(data, width * height), width, height, size, size);
    return (await classifyCrop(crop)).probabilities;
  };

  window.ferResizeGray = (pixels, width, height, outW, outH) =>
    Array.from(resizeGray(Uint8Array.from(pixels), width, height, outW, outH));

  const FILE_HELP = "This page was opened from a file (file://). Browsers do not let a file:// page load the " +
    "model or the WebAssembly runtime, so it cannot run this way. Serve the folder instead, e.g.\n" +
    "  python -m http.server --directory <this folder> 8000\nand open http://localhost:8000/";

  async function start() {
    if (!config || typeof ort === "undefined") {
      setStatus("config.js or ort/ort.wasm.min.js is missing: export the page with " +
                "`python -m core export-web --checkpoint C --out site/`.", true);
      return;
    }
    $("model-info").textContent = `Model: ${config.model} · classes: ${config.classes.join(", ")} · ` +
      `input ${spec.input_size}×${spec.input_size} gray · onnxruntime-web ${ort.env.versions?.web ?? ""}`;
    if (location.protocol === "file:") setStatus(FILE_HELP, true);
    detector = makeDetector();
    $("guide-note").textContent = detector ? "Faces are found with the browser's FaceDetector." :
      "This browser has no face detector: the face must be inside the dashed square guide box " +
      "(60% of the shorter side, centred).";
    try {
      session = await loadSession();
    } catch (error) {
      setStatus(location.protocol === "file:" ? FILE_HELP : `The model did not load: ${error.message || error}`, true);
      window.ferReady = "error";
      return;
    }
    $("camera-start").disabled = false;
    setStatus("Ready: upload an image or start the webcam.");
    window.ferReady = true;
  }

  $("file").addEventListener("change", (event) => event.target.files[0] && onFile(event.target.files[0]));
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", () => { stopCamera(); setStatus("Webcam stopped"); });
  $("camera-start").disabled = true;
  start();
})();

/* The page's analysis worker: onnxruntime-web and web/pipeline.js off the page's thread, so drawing the webcam
 * never waits for a model. Messages in: {type: "load", base, config} once, then {type: "predict", id, rgba,
 * width, height, options, live}; out: {type: "ready", threads} | {type: "result", id, result} | {type: "error"}.
 * A live request also runs the tracking (core/inference/tracking.smooth_faces) over the worker's own tracks. */
"use strict";

importScripts("ort/ort.wasm.min.js", "pipeline.js");

const LIVE_BOX_WEIGHT = 0.6; // core/inference/live.LIVE_BOX_WEIGHT
let pipeline = null;
let tracks = [];

async function load({ base, config }) {
  ort.env.wasm.wasmPaths = new URL("ort/", base).href; // the local copies: never a CDN
  // threads need SharedArrayBuffer, which only a cross-origin isolated page (COOP + COEP headers) has
  const threads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  pipeline = await FerPipeline.Pipeline.load(base, config);
  return threads;
}

async function predict({ rgba, width, height, options, live }) {
  const result = await pipeline.predict(new Uint8Array(rgba), width, height, options);
  if (live) {
    const smoothed = FerPipeline.smoothFaces(tracks, result.faces, undefined, LIVE_BOX_WEIGHT);
    tracks = smoothed.tracks;
    result.faces = smoothed.faces.map((face) => ({ ...face, label: pipeline.classifier.config.classes[face.best] }));
  }
  return result;
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "load") self.postMessage({ type: "ready", threads: await load(data) });
    else if (data.type === "reset") tracks = [];
    else if (data.type === "predict") self.postMessage({ type: "result", id: data.id, result: await predict(data) });
  } catch (error) {
    self.postMessage({ type: "error", id: data.id, message: String((error && error.message) || error) });
  }
};

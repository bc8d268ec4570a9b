/*
 * The agents' desktop softphone (an ES module): the agent's browser endpoint (PJSIP web<extension>)
 * on Asterisk, over SIP on a WebSocket with JsSIP (vendor/jssip.js, bundled from the npm package by
 * scripts/build-js), media by WebRTC (DTLS-SRTP, ICE).
 *
 *   import { Softphone } from "/desk/static/softphone.js";
 *   const config = await (await fetch("/api/v1/agent/softphone")).json();
 *   Softphone.start(config, {onChange, onIncoming, onAnswered, onEnded, onError});
 *   Softphone.answer(); Softphone.hangup(); Softphone.hold(true|false); Softphone.mute(true|false);
 *   Softphone.status(); await Softphone.stats(); Softphone.stop();
 *
 * Handlers (all optional): onChange(status) on every change; onIncoming(status) when a call rings;
 * onAnswered(status) when the call is up; onEnded(status) when it ends (also unanswered);
 * onError(Error) when registration fails or the remote audio cannot play.
 * `status` (given to every handler, also from Softphone.status()):
 *   {registration: "off"|"connecting"|"registered"|"unregistered"|"failed",
 *    call: null|"ringing"|"connecting"|"active"|"ended", held: bool, muted: bool, cause: string}
 * One call at a time (the queue rings an agent with one call); a second INVITE while busy is
 * answered 486 Busy Here. Transfers are not done here: the desktop asks the server (AMI Redirect).
 * The remote audio plays in an <audio> element this module adds to the page (hidden).
 */
import JsSIP from "./vendor/jssip.js";

const IDLE = { registration: "off", call: null, held: false, muted: false, cause: "" };
const state = { ua: null, session: null, handlers: {}, audio: null, keepalive: null, status: { ...IDLE } };

function snapshot() {
  return { ...state.status };
}

function emit(name, value) {
  const handler = state.handlers[name];
  if (typeof handler !== "function") return;
  try {
    handler(value);
  } catch (err) {
    console.error("softphone handler", name, err);
  }
}

function update(changes) {
  Object.assign(state.status, changes);
  emit("onChange", snapshot());
}

function audioElement() {
  if (!state.audio) {
    state.audio = document.createElement("audio");
    state.audio.autoplay = true;
    state.audio.hidden = true;
    state.audio.setAttribute("aria-hidden", "true");
    state.audio.dataset.softphone = "remote";
    document.body.appendChild(state.audio);
  }
  return state.audio;
}

// The remote track must really play: a browser reports no incoming audio level otherwise.
function playRemote(connection) {
  const stream = new MediaStream();
  for (const receiver of connection.getReceivers()) {
    if (receiver.track) stream.addTrack(receiver.track);
  }
  const audio = audioElement();
  audio.srcObject = stream;
  const playing = audio.play();
  if (playing && playing.catch) playing.catch((err) => emit("onError", new Error(`audio: ${err.message}`)));
}

function watch(session) {
  session.on("peerconnection", (event) => {
    event.peerconnection.addEventListener("track", () => playRemote(event.peerconnection));
  });
  session.on("accepted", () => update({ call: "connecting" }));
  session.on("confirmed", () => {
    if (session.connection) playRemote(session.connection);
    update({ call: "active" });
    emit("onAnswered", snapshot());
  });
  session.on("hold", () => update({ held: true }));
  session.on("unhold", () => update({ held: false }));
  session.on("muted", () => update({ muted: true }));
  session.on("unmuted", () => update({ muted: false }));
  const ended = (event) => {
    if (state.session !== session) return;
    state.session = null;
    if (state.audio) state.audio.srcObject = null;
    update({ call: "ended", held: false, muted: false, cause: String((event && event.cause) || "") });
    emit("onEnded", snapshot());
  };
  session.on("ended", ended);
  session.on("failed", ended);
}

function start(config, handlers) {
  stop();
  state.handlers = handlers || {};
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(config.ws_url)],
    uri: config.sip_uri,
    authorization_user: config.username,
    password: config.password,
    display_name: config.display_name || undefined,
    register: true,
    session_timers: false,
    user_agent: "Malmo-IVR desktop",
  });
  state.ua = ua;
  ua.on("connecting", () => update({ registration: "connecting" }));
  ua.on("registered", () => update({ registration: "registered", cause: "" }));
  ua.on("unregistered", (e) => update({ registration: "unregistered", cause: String((e && e.cause) || "") }));
  ua.on("registrationFailed", (e) => {
    update({ registration: "failed", cause: String((e && e.cause) || "") });
    emit("onError", new Error(`registration failed: ${(e && e.cause) || "unknown"}`));
  });
  ua.on("disconnected", () => {
    if (state.ua === ua) update({ registration: "connecting" });
  });
  ua.on("newRTCSession", (event) => {
    const session = event.session;
    if (event.originator !== "remote") return;
    if (state.session) {
      session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    state.session = session;
    watch(session);
    update({ call: "ringing", held: false, muted: false, cause: "" });
    emit("onIncoming", snapshot());
  });
  ua.start();
  // config.keepalive_s (a cluster: the socket is to whichever Kamailio edge held the service address):
  // an OPTIONS now and then makes a socket to an edge that has gone fail at once (the edge that took
  // the address over answers with a TCP reset), so JsSIP connects again and registers there, instead of
  // waiting for its next re-REGISTER (minutes).
  if (config.keepalive_s > 0) {
    const target = `sip:${new URL(config.ws_url).hostname}`;
    state.keepalive = setInterval(() => {
      if (state.ua !== ua || !ua.isConnected()) return;
      try {
        ua.sendOptions(target);
      } catch (err) {
        console.warn("softphone: keepalive not sent", err);
      }
    }, config.keepalive_s * 1000);
  }
  return snapshot();
}

function stop() {
  const { ua, session } = state;
  if (state.keepalive !== null) clearInterval(state.keepalive);
  state.keepalive = null;
  state.ua = null;
  state.session = null;
  if (session) {
    try {
      session.terminate();
    } catch (err) {
      console.warn("softphone: the call was already over", err);
    }
  }
  if (ua) ua.stop();
  state.status = { ...IDLE };
}

function answer() {
  const session = state.session;
  if (!session || state.status.call !== "ringing") return false;
  session.answer({ mediaConstraints: { audio: true, video: false } });
  update({ call: "connecting" });
  return true;
}

function hangup() {
  if (!state.session) return false;
  try {
    state.session.terminate();
  } catch (err) {
    console.warn("softphone: the call was already over", err);
  }
  return true;
}

function hold(on) {
  const session = state.session;
  if (!session || state.status.call !== "active") return false;
  return on ? session.hold() : session.unhold();
}

function mute(on) {
  const session = state.session;
  if (!session || state.status.call !== "active") return false;
  if (on) session.mute({ audio: true });
  else session.unmute({ audio: true });
  return true;
}

// The call's media as the browser counts it (RTCPeerConnection.getStats): audio packets received
// and sent, and the levels (0..1) of the sound heard and of the microphone. null without a call.
async function stats() {
  const connection = state.session && state.session.connection;
  if (!connection) return null;
  const out = { packetsReceived: 0, packetsSent: 0, audioLevel: 0, microphoneLevel: 0, bytesSent: 0 };
  (await connection.getStats()).forEach((report) => {
    if (report.kind !== "audio") return;
    if (report.type === "inbound-rtp") {
      out.packetsReceived += report.packetsReceived || 0;
      out.audioLevel = Math.max(out.audioLevel, report.audioLevel || 0);
    } else if (report.type === "outbound-rtp") {
      out.packetsSent += report.packetsSent || 0;
      out.bytesSent += report.bytesSent || 0;
    } else if (report.type === "media-source") {
      out.microphoneLevel = Math.max(out.microphoneLevel, report.audioLevel || 0);
    }
  });
  const sender = connection.getSenders().find((s) => s.track && s.track.kind === "audio");
  out.microphoneEnabled = Boolean(sender && sender.track.enabled);
  return out;
}

export const Softphone = { start, stop, answer, hangup, hold, mute, status: snapshot, stats };
export default Softphone;

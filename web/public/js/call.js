// Group video calls in a session room, as a mesh: one RTCPeerConnection per
// other socket (peer sid) in the call, at most MAX_PARTICIPANTS people in
// all. chatd only relays rtc:offer / rtc:answer / rtc:ice between sids and
// announces rtc:peer-left. Who offers:
//   - a socket that enters the call connects to every other socket in the
//     room (those already in the call answer at once; the others "ring");
//   - a socket in the call connects to a socket that joins the room later;
//   - every later change (a screen share starting or stopping) renegotiates
//     on the same connection.
// Offers are made by `negotiationneeded`, "perfect negotiation" style: when
// two offers cross (glare), the peer with the smaller sid is polite (rolls
// its own back and answers), the larger one ignores the offer it got.
// A ringing socket keeps the offers it got and answers them when its user
// joins; with MAX_PARTICIPANTS already calling, joining is refused. A call
// that fills up under a race answers the extra offer {type: "full"}.
//
// Each description sent carries `screen`: the id of the sender's shared
// screen stream, or null, so the receiver tells a screen from a camera
// (chatd relays `sdp` verbatim). Every STATS_EVERY_MS each connection's
// getStats() is summed up and sent as rtc:stats.

export const MAX_PARTICIPANTS = 4;
export const STATS_EVERY_MS = 5000;

// Bounds of rtc:stats fields (docs/protocol.md); values are clamped into them.
const LIMITS = { rttMs: 60000, lossPct: 100, kbpsIn: 1000000, kbpsOut: 1000000, fps: 240 };
const clamp = (key, v) => (v == null || !Number.isFinite(v) ? undefined : Math.round(Math.min(LIMITS[key], Math.max(0, v)) * 10) / 10);

export class Call {
  // socket: the socket.io socket; room: the session room id; iceServers
  // from /api/ice-servers; ui: callbacks {show(sid, kind, stream) with kind
  // "camera" or "screen", hide(sid, kind), dropPeer(sid), state(),
  // ring(fromSids), full(), localScreen(stream or null)}.
  constructor({ socket, room, iceServers, ui, statsEveryMs = STATS_EVERY_MS }) {
    this.socket = socket;
    this.room = room;
    this.iceServers = iceServers;
    this.ui = ui;
    this.statsEveryMs = statsEveryMs;
    this.inCall = false;
    this.local = null;               // camera MediaStream
    this.screen = null;              // shared screen MediaStream, while sharing
    this.peers = new Map();          // sid -> Peer (see connection())
    this.pendingOffers = new Map();  // sid -> sdp, received while not in the call
    this.earlyIce = new Map();       // sid -> [candidate] before a connection exists
    this.hungUp = new Set();         // sids that left the call: not rung again
    this.statsTimer = null;
    this.statsSent = 0;
  }

  get mySid() { return this.socket.id; }

  // Whether joining now would make more than MAX_PARTICIPANTS: everyone in
  // the call rings a socket that is not.
  isFull() { return !this.inCall && this.pendingOffers.size >= MAX_PARTICIPANTS; }

  // Others we exchanged descriptions with (ringing sockets not counted).
  participants() { return [...this.peers.values()].filter((p) => p.pc.remoteDescription).length; }

  // Enters the call with a local stream: answers the offers that rang,
  // connects to everyone else in the room (otherSids).
  async join(localStream, otherSids) {
    this.local = localStream;
    this.inCall = true;
    const pending = [...this.pendingOffers];
    this.pendingOffers.clear();
    for (const [sid, sdp] of pending) await this.onOffer({ from: sid, sdp });
    for (const sid of otherSids) {
      if (sid !== this.mySid && !this.peers.has(sid)) this.connect(sid);
    }
    this.statsTimer = setInterval(() => this.reportStats(), this.statsEveryMs);
    this.ui.state();
  }

  hangup() {
    this.stopShare();
    clearInterval(this.statsTimer);
    this.statsTimer = null;
    for (const sid of [...this.peers.keys()]) this.drop(sid);
    if (this.local) for (const t of this.local.getTracks()) t.stop();
    this.local = null;
    this.inCall = false;
    this.pendingOffers.clear();
    this.earlyIce.clear();
    this.ui.state();
  }

  setAudio(on) { for (const t of this.local?.getAudioTracks() ?? []) t.enabled = on; }
  setVideo(on) { for (const t of this.local?.getVideoTracks() ?? []) t.enabled = on; }

  // A peer's connection states, for the UI: [{sid, state}].
  states() { return [...this.peers].map(([sid, p]) => ({ sid, state: p.pc.connectionState })); }

  // --- screen sharing

  // Sends the screen (getDisplayMedia) to every peer as one more track;
  // each connection renegotiates. Stops by itself when the browser's own
  // "stop sharing" ends the track.
  async shareScreen() {
    if (this.screen || !this.inCall) return;
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    if (!this.inCall) { for (const t of stream.getTracks()) t.stop(); return; }
    this.screen = stream;
    const [track] = stream.getVideoTracks();
    track.addEventListener('ended', () => this.stopShare());
    for (const peer of this.peers.values()) peer.screenSender = peer.pc.addTrack(track, stream);
    this.ui.localScreen(stream);
  }

  stopShare() {
    const stream = this.screen;
    if (!stream) return;
    this.screen = null;
    for (const peer of this.peers.values()) {
      if (peer.screenSender && peer.pc.signalingState !== 'closed') peer.pc.removeTrack(peer.screenSender);
      peer.screenSender = null;
    }
    for (const t of stream.getTracks()) t.stop();
    this.ui.localScreen(null);
  }

  // --- connections

  connect(sid) {
    this.hungUp.delete(sid);
    this.connection(sid);  // adding the tracks makes the offer (negotiationneeded)
  }

  connection(sid) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const peer = {
      pc,
      polite: this.mySid < sid,
      makingOffer: false,
      ignoreOffer: false,
      ice: this.earlyIce.get(sid) ?? [],  // candidates waiting for the remote description
      screenId: null,                     // the peer's shared screen stream id
      screenSender: null,                 // our screen's sender on this connection
      last: { at: performance.now(), lost: 0, received: 0, bytesIn: 0, bytesOut: 0 },
    };
    this.earlyIce.delete(sid);
    this.peers.set(sid, peer);
    for (const track of this.local.getTracks()) pc.addTrack(track, this.local);
    if (this.screen) peer.screenSender = pc.addTrack(this.screen.getVideoTracks()[0], this.screen);
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        this.send('rtc:offer', { to: sid, sdp: this.describe(pc) });
      } catch (e) {
        console.warn('offer', e);
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onicecandidate = (e) => {
      this.send('rtc:ice', { to: sid, candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? new MediaStream([track]);
      this.ui.show(sid, stream.id === peer.screenId ? 'screen' : 'camera', stream);
    };
    pc.onconnectionstatechange = () => {
      this.ui.state();
      if (pc.connectionState === 'failed') pc.restartIce?.();
    };
    this.ui.show(sid, 'camera', null);
    return peer;
  }

  // Our local description, with the id of the screen we share (or null).
  describe(pc) {
    const { type, sdp } = pc.localDescription;
    return { type, sdp, screen: this.screen ? this.screen.id : null };
  }

  // A description from the peer: which of its streams is a screen, before
  // its tracks arrive; a share that stopped loses its tile.
  async applyRemote(sid, peer, desc) {
    const screen = typeof desc.screen === 'string' ? desc.screen : null;
    if (peer.screenId && peer.screenId !== screen) this.ui.hide(sid, 'screen');
    peer.screenId = screen;
    await peer.pc.setRemoteDescription({ type: desc.type, sdp: desc.sdp });
    for (const c of peer.ice.splice(0)) await peer.pc.addIceCandidate(c).catch((e) => console.warn('ice', e));
  }

  send(event, payload) {
    this.socket.emit(event, { room: this.room, ...payload }, (ack) => {
      if (ack && !ack.ok) console.warn(event, ack.error);
    });
  }

  drop(sid) {
    const p = this.peers.get(sid);
    if (!p) return;
    this.peers.delete(sid);
    p.pc.onconnectionstatechange = null;
    p.pc.onnegotiationneeded = null;
    p.pc.close();
    this.ui.dropPeer(sid);
  }

  // --- call quality: one rtc:stats per connection and period

  async reportStats() {
    for (const [sid, peer] of this.peers) {
      if (peer.pc.connectionState !== 'connected') continue;
      const report = await this.summary(peer).catch(() => null);
      if (!report || !this.peers.has(sid)) continue;
      this.socket.emit('rtc:stats', { room: this.room, peer: sid, ...report }, (ack) => {
        if (ack?.ok) this.statsSent++;
        else console.warn('rtc:stats', ack?.error);
      });
    }
  }

  // Round trip time of the connection's selected candidate pair, and over
  // the period since the last call: packet loss of what came in, bit rates
  // both ways, and the frame rate of the video received.
  async summary(peer) {
    const stats = await peer.pc.getStats();
    let rtt = null;
    let fps = null;
    const now = { at: performance.now(), lost: 0, received: 0, bytesIn: 0, bytesOut: 0 };
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && s.currentRoundTripTime != null) {
        rtt = s.currentRoundTripTime * 1000;
      } else if (s.type === 'inbound-rtp') {
        now.lost += Math.max(0, s.packetsLost ?? 0);
        now.received += s.packetsReceived ?? 0;
        now.bytesIn += s.bytesReceived ?? 0;
        if (s.kind === 'video' && s.framesPerSecond != null) fps = Math.max(fps ?? 0, s.framesPerSecond);
      } else if (s.type === 'outbound-rtp') {
        now.bytesOut += s.bytesSent ?? 0;
      }
    });
    const was = peer.last;
    peer.last = now;
    const ms = Math.max(1, now.at - was.at);
    const lost = Math.max(0, now.lost - was.lost);
    const packets = lost + Math.max(0, now.received - was.received);
    const out = {
      rttMs: clamp('rttMs', rtt),
      lossPct: clamp('lossPct', packets > 0 ? (100 * lost) / packets : null),
      kbpsIn: clamp('kbpsIn', (Math.max(0, now.bytesIn - was.bytesIn) * 8) / ms),
      kbpsOut: clamp('kbpsOut', (Math.max(0, now.bytesOut - was.bytesOut) * 8) / ms),
      fps: clamp('fps', fps),
    };
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  }

  // --- events from chatd (already filtered to this room)

  async onOffer({ from, sdp }) {
    this.hungUp.delete(from);
    if (!this.inCall) {
      this.pendingOffers.set(from, sdp);
      this.ui.ring([...this.pendingOffers.keys()]);
      return;
    }
    let peer = this.peers.get(from);
    if (!peer) {
      if (this.participants() >= MAX_PARTICIPANTS - 1) {
        this.send('rtc:answer', { to: from, sdp: { type: 'full' } });
        return;
      }
      peer = this.connection(from);
    }
    const collision = peer.makingOffer || peer.pc.signalingState !== 'stable';
    peer.ignoreOffer = !peer.polite && collision;
    if (peer.ignoreOffer) return;
    await this.applyRemote(from, peer, sdp);  // a polite peer's own offer is rolled back
    await peer.pc.setLocalDescription();
    this.send('rtc:answer', { to: from, sdp: this.describe(peer.pc) });
    this.ui.state();
  }

  async onAnswer({ from, sdp }) {
    if (sdp?.type === 'full') {
      if (this.inCall) this.ui.full();
      return;
    }
    const peer = this.peers.get(from);
    if (!peer || peer.pc.signalingState !== 'have-local-offer') return;
    await this.applyRemote(from, peer, sdp);
  }

  async onIce({ from, candidate }) {
    if (!candidate) return;  // end of candidates
    const peer = this.peers.get(from);
    if (!peer) {
      if (!this.earlyIce.has(from)) this.earlyIce.set(from, []);
      if (this.earlyIce.get(from).length < 200) this.earlyIce.get(from).push(candidate);
    } else if (!peer.pc.remoteDescription) {
      peer.ice.push(candidate);
    } else {
      await peer.pc.addIceCandidate(candidate).catch((e) => { if (!peer.ignoreOffer) console.warn('ice', e); });
    }
  }

  onPeerLeft({ sid }) {
    this.hungUp.add(sid);
    this.earlyIce.delete(sid);
    if (this.pendingOffers.delete(sid)) this.ui.ring([...this.pendingOffers.keys()]);
    this.drop(sid);
    this.ui.state();
  }

  // Someone entered the room while we are in the call: ring them.
  onPeerJoined(sid) {
    if (this.inCall && sid !== this.mySid && !this.peers.has(sid) && !this.hungUp.has(sid)) this.connect(sid);
  }
}

// Video calls in a session room, as a mesh: one RTCPeerConnection per other
// socket (peer sid) in the call. chatd only relays rtc:offer / rtc:answer /
// rtc:ice between sids and announces rtc:peer-left; who offers is decided
// here, deterministically:
//   - a socket that enters the call offers to every other socket in the room
//     (those already in the call answer at once; the others "ring");
//   - a socket in the call offers to a socket that joins the room later;
//   - glare (both offered each other): the larger sid's offer wins, the
//     smaller sid drops its own and answers.
// A ringing socket keeps the offers it got and answers them when its user
// joins. Hanging up closes every connection; the page then leaves and
// re-enters the room, so chatd tells the others with rtc:peer-left.

export class Call {
  // socket: the socket.io socket; room: the session room id; iceServers
  // from /api/ice-servers; ui: callbacks {tile(sid) -> <video>,
  // dropTile(sid), state(), ring(fromSids)}.
  constructor({ socket, room, iceServers, ui, peerName }) {
    this.socket = socket;
    this.room = room;
    this.iceServers = iceServers;
    this.ui = ui;
    this.peerName = peerName;
    this.inCall = false;
    this.local = null;           // MediaStream
    this.peers = new Map();      // sid -> {pc, remoteSet, ice: []}
    this.pendingOffers = new Map();  // sid -> sdp, received while not in the call
    this.earlyIce = new Map();   // sid -> [candidate] before a connection exists
    this.hungUp = new Set();     // sids that left the call: not rung again
  }

  get mySid() { return this.socket.id; }

  // Enters the call with a local stream: answers the offers that rang,
  // offers to everyone else in the room (otherSids).
  async join(localStream, otherSids) {
    this.local = localStream;
    this.inCall = true;
    const pending = [...this.pendingOffers];
    this.pendingOffers.clear();
    for (const [sid, sdp] of pending) await this.answer(sid, sdp);
    for (const sid of otherSids) {
      if (sid !== this.mySid && !this.peers.has(sid)) await this.offer(sid);
    }
    this.ui.state();
  }

  hangup() {
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

  connection(sid) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const peer = { pc, remoteSet: false, ice: this.earlyIce.get(sid) ?? [] };
    this.earlyIce.delete(sid);
    this.peers.set(sid, peer);
    for (const track of this.local.getTracks()) pc.addTrack(track, this.local);
    pc.onicecandidate = (e) => {
      this.send('rtc:ice', { to: sid, candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    pc.ontrack = (e) => {
      const video = this.ui.tile(sid);
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      if (video.srcObject !== stream) {
        video.srcObject = stream;
        video.play().catch(() => {});
      }
    };
    pc.onconnectionstatechange = () => {
      this.ui.state();
      if (pc.connectionState === 'failed') pc.restartIce?.();
    };
    this.ui.tile(sid);
    return peer;
  }

  send(event, payload) {
    this.socket.emit(event, { room: this.room, ...payload }, (ack) => {
      if (ack && !ack.ok) console.warn(event, ack.error);
    });
  }

  async offer(sid) {
    this.hungUp.delete(sid);
    const { pc } = this.connection(sid);
    await pc.setLocalDescription(await pc.createOffer());
    this.send('rtc:offer', { to: sid, sdp: pc.localDescription.toJSON() });
  }

  async answer(sid, sdp) {
    const peer = this.connection(sid);
    await peer.pc.setRemoteDescription(sdp);
    await this.remoteSet(peer);
    await peer.pc.setLocalDescription(await peer.pc.createAnswer());
    this.send('rtc:answer', { to: sid, sdp: peer.pc.localDescription.toJSON() });
  }

  async remoteSet(peer) {
    peer.remoteSet = true;
    for (const c of peer.ice.splice(0)) await peer.pc.addIceCandidate(c).catch((e) => console.warn('ice', e));
  }

  drop(sid) {
    const p = this.peers.get(sid);
    if (!p) return;
    this.peers.delete(sid);
    p.pc.onconnectionstatechange = null;
    p.pc.close();
    this.ui.dropTile(sid);
  }

  // --- events from chatd (already filtered to this room) ---

  async onOffer({ from, sdp }) {
    this.hungUp.delete(from);
    if (!this.inCall) {
      this.pendingOffers.set(from, sdp);
      this.ui.ring([...this.pendingOffers.keys()]);
      return;
    }
    const existing = this.peers.get(from);
    if (existing && existing.pc.signalingState === 'have-local-offer') {
      if (this.mySid > from) return;  // glare: our offer wins, theirs is dropped
      this.drop(from);
    } else if (existing) {
      // A renegotiation on an established connection.
      await existing.pc.setRemoteDescription(sdp);
      await existing.pc.setLocalDescription(await existing.pc.createAnswer());
      this.send('rtc:answer', { to: from, sdp: existing.pc.localDescription.toJSON() });
      return;
    }
    await this.answer(from, sdp);
    this.ui.state();
  }

  async onAnswer({ from, sdp }) {
    const peer = this.peers.get(from);
    if (!peer || peer.pc.signalingState !== 'have-local-offer') return;
    await peer.pc.setRemoteDescription(sdp);
    await this.remoteSet(peer);
  }

  async onIce({ from, candidate }) {
    if (!candidate) return;  // end of candidates
    const peer = this.peers.get(from);
    if (!peer) {
      if (!this.earlyIce.has(from)) this.earlyIce.set(from, []);
      this.earlyIce.get(from).push(candidate);
    } else if (!peer.remoteSet) {
      peer.ice.push(candidate);
    } else {
      await peer.pc.addIceCandidate(candidate).catch((e) => console.warn('ice', e));
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
    if (this.inCall && sid !== this.mySid && !this.peers.has(sid) && !this.hungUp.has(sid)) {
      this.offer(sid).catch((e) => console.warn('offer', e));
    }
  }
}

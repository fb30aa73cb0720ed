// Socket.IO packet reassembly: a text header, then its binary attachments.
// One Decoder per connection, driven by the Socket.IO server on the loop
// thread. Memory is bounded by the attachment count and byte limits.
#include <utility>

#include "protocol/socketio_packet.h"

namespace realtime::protocol::socketio {

void Decoder::reset() {
  pending_.reset();
  attachments_.clear();
  pending_bytes_ = 0;
}

Result<std::optional<Packet>> Decoder::feed(std::string_view data, bool binary) {
  if (!pending_) {
    if (binary) return Status::bad_request("binary message without a packet awaiting it");
    auto header = decode_text(data, limits_);
    if (!header.ok()) return header.status();
    if (header->attachments == 0) {
      // A binary type announcing zero attachments may still hold (invalid)
      // placeholders; reconstruct() rejects them.
      Packet packet = std::move(header->packet);
      if (packet.type == PacketType::binary_event || packet.type == PacketType::binary_ack) {
        Status s = reconstruct(packet.data, attachments_);
        if (!s.ok()) return s;
      }
      return std::optional<Packet>(std::move(packet));
    }
    pending_ = std::move(header).value();
    return std::optional<Packet>();
  }
  if (!binary) {
    reset();
    return Status::bad_request("text message while attachments are pending");
  }
  if (data.size() > limits_.max_attachment_bytes - pending_bytes_) {
    reset();
    return Status::payload_too_large("attachments too large");
  }
  pending_bytes_ += data.size();
  attachments_.emplace_back(data);
  if (attachments_.size() < pending_->attachments) return std::optional<Packet>();

  Packet packet = std::move(pending_->packet);
  Status s = reconstruct(packet.data, attachments_);
  reset();
  if (!s.ok()) return s;
  return std::optional<Packet>(std::move(packet));
}

}  // namespace realtime::protocol::socketio

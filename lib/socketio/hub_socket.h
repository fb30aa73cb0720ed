// HubSocket: how a namespace's Hub sees one socket.
//
// The Hub keys connections by id; a namespace's members are sockets, keyed
// by sid, so that to(sid), except(sid) and the per-user channel work on
// Socket.IO ids. Sends go straight to the Engine.IO connection underneath.
// Created by the Engine on CONNECT; loop thread only.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "realtime/connection.h"

namespace realtime::socketio::detail {

class HubSocket final : public Connection {
 public:
  HubSocket(std::string sid, std::shared_ptr<Connection> conn) : sid_(std::move(sid)), conn_(std::move(conn)) {}
  const std::string& id() const override { return sid_; }
  SendStatus send(const Frame& frame) override { return conn_->send(frame); }
  void close(CloseReason reason) override { conn_->close(reason); }
  bool is_open() const override { return conn_->is_open(); }
  std::size_t queued_bytes() const override { return conn_->queued_bytes(); }
  bool backpressured() const override { return conn_->backpressured(); }

 private:
  std::string sid_;
  std::shared_ptr<Connection> conn_;
};

}  // namespace realtime::socketio::detail

#include "net/rpc/ops.h"

namespace pilot::rpc {

OpTable all_ops() {
  OpTable t;
  add_directory_ops(t);
  add_trust_ops(t);
  add_network_ops(t);
  add_routing_ops(t);
  add_audit_ops(t);
  add_outbound_ops(t);
  return t;
}

}  // namespace pilot::rpc

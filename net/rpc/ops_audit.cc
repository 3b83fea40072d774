// get_audit_log (spec §6.23): the newest entries of the audit view (projections/audit.h),
// admin token only. A read: allowed on a standby, whose audit view is the same
// projection of the same log.
#include "net/rpc/auth.h"
#include "net/rpc/fields.h"
#include "net/rpc/ops.h"
#include "projections/audit.h"

namespace pilot::rpc {

namespace {

constexpr uint64_t kDefaultLimit = 100;

nlohmann::json get_audit_log(Registry& reg, const Request& r) {
  require_admin(reg, r.body);
  // limit is 1..1000: a missing, zero or unreadable one (negative, fractional out of
  // range, not a number) means the default, a larger one the maximum.
  uint64_t limit = uint_field(r.body, "limit", UINT64_MAX);
  if (limit == 0) limit = kDefaultLimit;
  if (limit > AuditLog::kCapacity) limit = AuditLog::kCapacity;
  const uint16_t network = u16_field(r.body, "network_id");  // 0 = every network
  return {{"type", "get_audit_log_ok"},
          {"entries", audit_log_entries_json(reg.state().audit, static_cast<size_t>(limit), network)}};
}

}  // namespace

void add_audit_ops(OpTable& t) { t.add({"get_audit_log", get_audit_log, true, ""}); }

}  // namespace pilot::rpc

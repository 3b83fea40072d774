// The dashboard page (admin/dashboard/index.html), embedded in the binary at build
// time: one self-contained file, no CDN, nothing to install next to the server.
#pragma once

#include <string_view>

namespace pilot::admin {
extern const std::string_view kDashboardHtml;
}

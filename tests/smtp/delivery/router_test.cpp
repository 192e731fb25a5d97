// Routing decisions and the retry schedule. DNS answers come from a table here (the resolver itself is
// tested against a real unbound in tests/dns, and the whole path in tests/integration/test_delivery.py).
#include "smtp/delivery/router.h"

#include <gtest/gtest.h>

#include <map>

#include "smtp/delivery/scheduler.h"

namespace tern::smtp::delivery {
namespace {

class TableResolver : public dns::Resolver {
 public:
  std::map<std::string, dns::MxResult> mx;
  std::map<std::string, dns::AddressResult> addresses;
  std::vector<std::string> asked;

  dns::MxResult resolveMx(std::string_view domain) override {
    asked.push_back("MX " + std::string(domain));
    auto it = mx.find(std::string(domain));
    if (it != mx.end()) return it->second;
    return dns::MxResult{dns::Status::NotFound, {}, "NXDOMAIN"};
  }
  dns::AddressResult resolveAddresses(std::string_view host) override {
    asked.push_back("A " + std::string(host));
    auto it = addresses.find(std::string(host));
    if (it != addresses.end()) return it->second;
    if (!host.empty() && host.front() == '[') {  // the resolver returns literals as they are
      return dns::AddressResult{dns::Status::Ok, {std::string(host.substr(1, host.size() - 2))}, ""};
    }
    return dns::AddressResult{dns::Status::NotFound, {}, "NXDOMAIN"};
  }
};

dns::AddressResult ok(std::vector<std::string> a) { return {dns::Status::Ok, std::move(a), ""}; }

TEST(RouterTest, MxHostsInOrderWithTheirAddresses) {
  TableResolver r;
  r.mx["example.net"] = {dns::Status::Ok, {{"mx1.example.net", 10}, {"mx2.example.net", 20}}, ""};
  r.addresses["mx1.example.net"] = ok({"2001:db8::1", "192.0.2.1"});
  r.addresses["mx2.example.net"] = ok({"192.0.2.2"});
  RoutingSettings s;
  s.smtpPort = 2525;
  Router router(r, s);
  Route route = router.route("example.net");
  ASSERT_EQ(route.status, Route::Status::Ok);
  ASSERT_EQ(route.hops.size(), 2u);
  EXPECT_EQ(route.hops[0].host, "mx1.example.net");
  EXPECT_EQ(route.hops[0].addresses, (std::vector<std::string>{"2001:db8::1", "192.0.2.1"}));
  EXPECT_EQ(route.hops[0].port, 2525);
  EXPECT_FALSE(route.hops[0].relay);
  EXPECT_EQ(route.hops[1].host, "mx2.example.net");
}

TEST(RouterTest, HostsWithoutAddressesAreSkippedAndAllMissingIsTemporary) {
  TableResolver r;
  r.mx["example.net"] = {dns::Status::Ok, {{"gone.example.net", 10}, {"mx2.example.net", 20}}, ""};
  r.addresses["mx2.example.net"] = ok({"192.0.2.2"});
  Router router(r, {});
  Route route = router.route("example.net");
  ASSERT_EQ(route.status, Route::Status::Ok);
  ASSERT_EQ(route.hops.size(), 1u);
  EXPECT_EQ(route.hops[0].host, "mx2.example.net");

  r.mx["broken.test"] = {dns::Status::Ok, {{"nothing.broken.test", 10}}, ""};
  Route none = router.route("broken.test");
  EXPECT_EQ(none.status, Route::Status::TemporaryFailure);
  EXPECT_EQ(none.dsnStatus, "4.4.4");

  r.mx["flaky.test"] = {dns::Status::Ok, {{"mx.flaky.test", 10}}, ""};
  r.addresses["mx.flaky.test"] = {dns::Status::TempFail, {}, "timeout"};
  Route flaky = router.route("flaky.test");
  EXPECT_EQ(flaky.status, Route::Status::TemporaryFailure);
  EXPECT_EQ(flaky.dsnStatus, "4.4.3");
}

TEST(RouterTest, DnsOutcomesMapToPermanentOrTemporaryFailures) {
  TableResolver r;
  r.mx["nullmx.test"] = {dns::Status::NullMx, {}, ""};
  r.mx["servfail.test"] = {dns::Status::TempFail, {}, "SERVFAIL"};
  Router router(r, {});
  struct Case {
    const char* domain;
    Route::Status status;
    const char* dsn;
  };
  const Case cases[] = {
      {"nullmx.test", Route::Status::PermanentFailure, "5.1.10"},   // RFC 7505 3
      {"nxdomain.test", Route::Status::PermanentFailure, "5.1.2"},  // no such domain
      {"servfail.test", Route::Status::TemporaryFailure, "4.4.3"},  // try again later
  };
  for (const auto& c : cases) {
    Route route = router.route(c.domain);
    EXPECT_EQ(route.status, c.status) << c.domain;
    EXPECT_EQ(route.dsnStatus, c.dsn) << c.domain;
    EXPECT_TRUE(route.hops.empty()) << c.domain;
    EXPECT_NE(route.reason.find(c.domain), std::string::npos) << route.reason;
  }
}

TEST(RouterTest, RelayWinsOverRoutesAndMx) {
  TableResolver r;
  r.addresses["smarthost.test"] = ok({"192.0.2.9"});
  RoutingSettings s;
  RelaySettings relay;
  relay.host = "smarthost.test";
  relay.port = 587;
  s.relay = relay;
  s.routes["example.net"] = {"192.0.2.7", 25};
  Router router(r, s);
  Route route = router.route("example.net");
  ASSERT_EQ(route.status, Route::Status::Ok);
  ASSERT_EQ(route.hops.size(), 1u);
  EXPECT_TRUE(route.hops[0].relay);
  EXPECT_EQ(route.hops[0].port, 587);
  EXPECT_EQ(route.hops[0].addresses, std::vector<std::string>{"192.0.2.9"});
  for (const auto& q : r.asked) EXPECT_EQ(q.rfind("MX ", 0), std::string::npos) << "no MX lookup with a relay";
}

TEST(RouterTest, PerDomainRouteOverridesMx) {
  TableResolver r;
  RoutingSettings s;
  s.routes["partner.test"] = {"192.0.2.7", 2526};
  Router router(r, s);
  Route route = router.route("partner.test");
  ASSERT_EQ(route.status, Route::Status::Ok);
  EXPECT_EQ(route.hops[0].addresses, std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(route.hops[0].port, 2526);
  EXPECT_FALSE(route.hops[0].relay);
  // Other domains still go by MX.
  EXPECT_EQ(router.route("other.test").status, Route::Status::PermanentFailure);
}

TEST(RouterTest, UnresolvableSmarthostIsRetriedNotBounced) {
  TableResolver r;
  RoutingSettings s;
  s.relay = RelaySettings{};
  s.relay->host = "missing.test";
  Router router(r, s);
  Route route = router.route("example.net");
  EXPECT_EQ(route.status, Route::Status::TemporaryFailure);
  EXPECT_EQ(route.dsnStatus, "4.4.4");
}

TEST(RouterTest, AddressLiteralDomainIsTheHostItself) {
  TableResolver r;
  Router router(r, {});
  Route route = router.route("[192.0.2.5]");
  ASSERT_EQ(route.status, Route::Status::Ok);
  EXPECT_EQ(route.hops[0].addresses, std::vector<std::string>{"192.0.2.5"});
  for (const auto& q : r.asked) EXPECT_EQ(q.rfind("MX ", 0), std::string::npos);
}

TEST(RetryScheduleTest, StepsThenTheLastRepeats) {
  using namespace std::chrono_literals;
  const std::vector<std::chrono::seconds> schedule{120s, 300s, 900s};
  EXPECT_EQ(nextAttemptTime(schedule, 0, 1000), 1120);
  EXPECT_EQ(nextAttemptTime(schedule, 1, 1000), 1300);
  EXPECT_EQ(nextAttemptTime(schedule, 2, 1000), 1900);
  EXPECT_EQ(nextAttemptTime(schedule, 3, 1000), 1900);
  EXPECT_EQ(nextAttemptTime(schedule, 1000, 1000), 1900);
  EXPECT_GT(nextAttemptTime({}, 0, 1000), 1000);  // never "now" again, even misconfigured
}

}  // namespace
}  // namespace tern::smtp::delivery

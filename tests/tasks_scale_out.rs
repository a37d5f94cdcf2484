//! Tasks that survive scale-out: the suite's `tasks-*` scenarios through a round-robin proxy
//! in front of two `conformance-server` processes sharing one DynamoDB table (on moto), so a
//! task created on one instance is polled, answered and cancelled on either.

use mcp_testkit::instances::pair;
use mcp_testkit::proxy::RoundRobin;

#[test]
fn task_scenarios_pass_through_a_round_robin_proxy() {
    let pair = pair(&[]);
    let proxy = RoundRobin::start(&[&pair.a.url, &pair.b.url]);
    mcp_testkit::task_suite::assert_task_scenarios_pass(&proxy.url);
}

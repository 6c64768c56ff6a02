//! Log excerpts and stack traces, as people paste them into tickets.

use chrono::{DateTime, Utc};
use rand::Rng;

use super::catalog::Log;
use super::text::{Ctx, pick};
use super::vocab;

/// Writes one excerpt of the given kind, stamped around `at`.
pub(super) fn excerpt(ctx: &mut Ctx<'_>, log: Log, at: DateTime<Utc>) -> String {
    match log {
        Log::Java => java(ctx),
        Log::Python => python(ctx),
        Log::Ios => ios(ctx),
        Log::Android => android(ctx),
        Log::Nginx => nginx(ctx, at),
        Log::Postgres => postgres(ctx, at),
        Log::Oracle => oracle(ctx),
        Log::Kubernetes => kubernetes(ctx),
        Log::Curl => curl(ctx),
        Log::WindowsEvent => windows_event(ctx, at),
        Log::Vpn => vpn(ctx, at),
    }
}

fn java(ctx: &mut Ctx<'_>) -> String {
    let package = ctx.domain.package;
    let class = *pick(ctx.rng, ctx.domain.classes);
    let caller = *pick(ctx.rng, ctx.domain.classes);
    let line = ctx.rng.random_range(40..900u32);
    let exception = *pick(
        ctx.rng,
        &[
            "java.lang.NullPointerException: Cannot invoke \"java.math.BigDecimal.multiply(java.math.BigDecimal)\" because \"rate\" is null",
            "java.lang.IllegalStateException: Duplicate key 'EUR'",
            "java.lang.ArithmeticException: Non-terminating decimal expansion; no exact representable decimal result.",
            "java.lang.IndexOutOfBoundsException: Index 0 out of bounds for length 0",
            "org.springframework.dao.DataIntegrityViolationException: could not execute statement",
        ],
    );
    format!(
        "{exception}\n\tat {package}.{class}.apply({class}.java:{line})\n\tat {package}.{caller}.handle({caller}.java:{})\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)\n\t... 42 more",
        line + 17
    )
}

fn python(ctx: &mut Ctx<'_>) -> String {
    let column = *pick(ctx.rng, ctx.domain.fields);
    let line = ctx.rng.random_range(20..400u32);
    let table = *pick(ctx.rng, vocab::TABLES);
    format!(
        "Traceback (most recent call last):\n  File \"/opt/airflow/dags/load_{table}.py\", line {line}, in transform\n    df = df.merge(ref, on=\"{column}\", how=\"left\")\n  File \"/usr/local/lib/python3.11/site-packages/pandas/core/frame.py\", line 10093, in merge\n    return merge(\nKeyError: '{column}'"
    )
}

fn ios(ctx: &mut Ctx<'_>) -> String {
    let class = *pick(ctx.rng, ctx.domain.classes);
    let offset = ctx.rng.random_range(16..900u32);
    format!(
        "Exception Type:  EXC_BAD_ACCESS (SIGSEGV)\nException Subtype: KERN_INVALID_ADDRESS at 0x0000000000000010\nThread 0 Crashed:\n0   App   0x0000000102f4c8a4 {class}.viewDidLoad() + {offset}\n1   UIKitCore   0x00000001a1d2e0c0 -[UIViewController _sendViewDidLoadWithAppearanceProxyObjectTaggingEnabled] + 108"
    )
}

fn android(ctx: &mut Ctx<'_>) -> String {
    let package = ctx.domain.package;
    let class = *pick(ctx.rng, ctx.domain.classes);
    let pid = ctx.rng.random_range(2000..32000u32);
    format!(
        "FATAL EXCEPTION: main\nProcess: {package}, PID: {pid}\njava.lang.IllegalStateException: Fragment not attached to a context.\n\tat androidx.fragment.app.Fragment.requireContext(Fragment.java:972)\n\tat {package}.ui.{class}.onResume({class}.kt:{})",
        pid % 300
    )
}

fn nginx(ctx: &mut Ctx<'_>, at: DateTime<Utc>) -> String {
    let host = *pick(ctx.rng, vocab::HOSTS);
    let conn = ctx.rng.random_range(1000..99999u32);
    let path = *pick(ctx.rng, &["/checkout", "/api/v2/orders", "/login", "/", "/api/payslips", "/graphql"]);
    let stamp = at.format("%Y/%m/%d %H:%M:%S");
    format!(
        "{stamp} [error] 2231#2231: *{conn} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.20.4.{}, server: {host}, request: \"POST {path} HTTP/1.1\", upstream: \"http://10.0.3.12:8080{path}\"\n{stamp} [error] 2231#2231: *{} no live upstreams while connecting to upstream",
        conn % 250,
        conn + 1
    )
}

fn postgres(ctx: &mut Ctx<'_>, at: DateTime<Utc>) -> String {
    let stamp = at.format("%Y-%m-%d %H:%M:%S%.3f UTC");
    let pid = ctx.rng.random_range(1000..65000u32);
    let message = *pick(
        ctx.rng,
        &[
            "FATAL:  remaining connection slots are reserved for non-replication superuser connections",
            "ERROR:  could not extend file \"base/16384/2619\": No space left on device",
            "ERROR:  deadlock detected\nDETAIL:  Process 4211 waits for ShareLock on transaction 99812; blocked by process 4388.",
            "LOG:  could not receive data from client: Connection reset by peer",
            "FATAL:  the database system is in recovery mode",
        ],
    );
    format!("{stamp} [{pid}] {message}")
}

fn oracle(ctx: &mut Ctx<'_>) -> String {
    (*pick(
        ctx.rng,
        &[
            "ORA-12541: TNS:no listener",
            "ORA-00257: Archiver error. Connect AS SYSDBA only until resolved.",
            "ORA-01555: snapshot too old: rollback segment number 12 with name \"_SYSSMU12$\" too small",
            "ORA-00020: maximum number of processes (600) exceeded",
        ],
    ))
    .to_string()
}

fn kubernetes(ctx: &mut Ctx<'_>) -> String {
    let service = *pick(ctx.rng, &["checkout-api", "payroll-worker", "feed-service", "ingest-runner", "intranet-web"]);
    let suffix = ctx.rng.random_range(10_000..99_999u32);
    let restarts = ctx.rng.random_range(5..60u32);
    format!(
        "$ kubectl get pods -n prod | grep {service}\n{service}-7c9d8{suffix}   0/1   CrashLoopBackOff   {restarts}   41m\n$ kubectl describe pod {service}-7c9d8{suffix}\n  Warning  BackOff    2m (x{restarts} over 41m)  kubelet  Back-off restarting failed container\n  Warning  Unhealthy  5m  kubelet  Readiness probe failed: HTTP probe failed with statuscode: 503"
    )
}

fn curl(ctx: &mut Ctx<'_>) -> String {
    let host = *pick(ctx.rng, vocab::CERTS);
    let host = host.trim_start_matches("*.");
    let failure = *pick(
        ctx.rng,
        &[
            "< HTTP/1.1 502 Bad Gateway\n< Server: nginx\n< Content-Type: text/html",
            "< HTTP/2 503\n< retry-after: 120",
            "* SSL certificate problem: certificate has expired\ncurl: (60) SSL certificate problem: certificate has expired",
            "* connect to 10.0.3.12 port 443 failed: Connection refused\ncurl: (7) Failed to connect",
        ],
    );
    format!("$ curl -vI https://{host}/health\n{failure}")
}

fn windows_event(ctx: &mut Ctx<'_>, at: DateTime<Utc>) -> String {
    let stamp = at.format("%d/%m/%Y %H:%M:%S");
    let event = *pick(
        ctx.rng,
        &[
            "Event ID 4740: A user account was locked out.",
            "Event ID 4625: An account failed to log on. Failure Reason: Unknown user name or bad password.",
            "Event ID 41 (Kernel-Power): The system has rebooted without cleanly shutting down first.",
            "Event ID 1000: Faulting application name: OUTLOOK.EXE, version: 16.0.17328.20124",
        ],
    );
    format!("Log Name: System\nDate: {stamp}\n{event}")
}

fn vpn(ctx: &mut Ctx<'_>, at: DateTime<Utc>) -> String {
    let stamp = at.format("%m/%d/%y %H:%M:%S");
    let gateway = *pick(ctx.rng, &["gw-fra-1.vpn.example.com", "gw-lon-2.vpn.example.com", "gw-chi-1.vpn.example.com"]);
    format!(
        "({stamp}) Debug(  621): Connecting to gateway {gateway}\n({stamp}) Error( 1187): Failed to connect to gateway: error 0x2746 (timeout)\n({stamp}) Info ( 233): Network is unreachable"
    )
}

//! `auth-qa`: the contract suite against a running deployment.
//! See `docs/qa.md`, or `auth-qa --help`.

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let status = auth_qa::qa::main(std::env::args()).await;
    std::process::exit(status);
}

//! Compiles proto/replication.proto with a vendored protoc (no system protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC from the environment.
    unsafe { std::env::set_var("PROTOC", protoc) };
    // Record batches as `bytes::Bytes`: a leader's reads are sent and a follower's received
    // batches are written without another copy.
    tonic_prost_build::configure()
        .bytes(".")
        .compile_protos(&["../../proto/replication.proto"], &["../../proto"])?;
    println!("cargo:rerun-if-changed=../../proto/replication.proto");
    Ok(())
}

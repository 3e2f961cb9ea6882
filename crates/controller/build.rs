//! Compiles proto/controller.proto with a vendored protoc (no system protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC from the environment.
    unsafe { std::env::set_var("PROTOC", protoc) };
    tonic_prost_build::configure()
        .compile_protos(&["../../proto/controller.proto"], &["../../proto"])?;
    println!("cargo:rerun-if-changed=../../proto/controller.proto");
    Ok(())
}

//! With the `tch` feature: compiles `src/ops/libtorch_conv.cpp` (the convolution backward
//! tch does not bind) against the libtorch that torch-sys found and links.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "tch")]
    libtorch_conv();
}

#[cfg(feature = "tch")]
fn libtorch_conv() {
    use std::path::PathBuf;
    const SOURCE: &str = "src/ops/libtorch_conv.cpp";
    println!("cargo:rerun-if-changed={SOURCE}");
    // torch-sys (`links = "tch"`) passes its libtorch's lib directory to direct dependents;
    // the headers sit beside it (torch/lib, torch/include in PyPI's wheel, lib/ and include/
    // in a libtorch archive).
    let lib = PathBuf::from(
        std::env::var("DEP_TCH_LIBTORCH_LIB")
            .expect("torch-sys did not say where libtorch is (DEP_TCH_LIBTORCH_LIB)"),
    );
    let include = lib
        .parent()
        .expect("libtorch's lib has a parent")
        .join("include");
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .std("c++17")
        .include(&include)
        .warnings(false)
        .file(SOURCE)
        .compile("sigmax_libtorch_conv");
}

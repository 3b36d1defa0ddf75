//! (As ensure_no_std/build.rs.) Links the binary statically with no C runtime: `_start`, the system
//! calls and the `mem*` functions come from the crate itself, so nothing
//! from libc (or std) can sneak in.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch == "x86_64" && os == "linux" {
        // No crt1.o/crti.o: `_start` is ours (src/rt.rs).
        println!("cargo:rustc-link-arg-bins=-nostartfiles");
        // No libc, libgcc or libgcc_s: undefined symbols fail the link.
        println!("cargo:rustc-link-arg-bins=-nostdlib");
        // No dynamic loader. rustc also passes `-pie`, which gcc drops under
        // `-static`; `-no-pie` makes that explicit for every driver: with
        // neither a loader nor startup code to relocate the image, nobody
        // would apply the relocations of a static-PIE (e.g. the vtable
        // pointers behind a rule's `&dyn PlasticityTerm`).
        println!("cargo:rustc-link-arg-bins=-static");
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

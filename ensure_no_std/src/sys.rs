//! The two system calls both static test binaries (`ensure_no_std` and
//! `no_panic`) make, for x86_64 Linux: `write` and `exit_group`. Shared
//! through `#[path]`; panic-free, as `no_panic` requires.

use core::arch::asm;

/// `write(2)`: writes all of `bytes` to file descriptor `fd` (retrying on
/// short writes; gives up silently on an error, there is nowhere to report
/// it).
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let ret: isize;
        // SAFETY: syscall 1 is `write(fd, buf, count)`; `buf` points to
        // `count` readable bytes borrowed for the duration of the call. The
        // kernel clobbers only `rax` (the result), `rcx` and `r11`, all
        // declared; it touches no memory we own except reading `bytes`.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") 1isize => ret,
                in("rdi") fd as isize,
                in("rsi") bytes.as_ptr(),
                in("rdx") bytes.len(),
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack, readonly),
            );
        }
        if ret <= 0 {
            return;
        }
        bytes = bytes.get(ret as usize..).unwrap_or(&[]);
    }
}

/// `exit_group(2)`: ends the process with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: syscall 231 is `exit_group(status)`; it does not return, so
    // no register or memory state is observed afterwards.
    unsafe {
        asm!(
            "syscall",
            in("rax") 231isize,
            in("rdi") code as isize,
            options(noreturn, nostack),
        );
    }
}

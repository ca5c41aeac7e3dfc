#![no_main]
// No `settled`: the decompression helper thread of `open_ahead` is joined when its reader is
// dropped, so it has exited before the body returns (see `zkformat_fuzz::settled`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| zkformat_fuzz::snapshot(data));

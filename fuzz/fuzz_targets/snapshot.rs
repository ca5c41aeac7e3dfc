#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zkformat_fuzz::snapshot(data));

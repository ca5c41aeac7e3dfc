#![no_main]
// `settled`: compressed input is also read with the decompressor on a helper thread; wait for it
// to exit (see its docs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| zkformat_fuzz::settled(|| zkformat_fuzz::snapshot(data)));

#![no_main]
// `settled`: compressed input is also read with the decompressor on a helper thread. Its reader
// joins the thread when dropped, but the process's thread count was seen to lag behind that
// join under load (fuzz/tests/settled.rs), so the body still waits for the OS to agree.
libfuzzer_sys::fuzz_target!(|data: &[u8]| zkformat_fuzz::settled(|| zkformat_fuzz::snapshot(data)));

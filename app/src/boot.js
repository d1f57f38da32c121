function (js, wasm, qr) {
	const slow = () => fetch(wasm).then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b));
	const compiled = 'compileStreaming' in WebAssembly ? WebAssembly.compileStreaming(fetch(wasm)).catch(slow) : slow();
	const loaded = import(js).then((mod) => mod.default({ module_or_path: compiled }).then(() => mod));
	const parsed = new Promise((resolve) => {
		if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', resolve, { once: true });
		else resolve();
	});
	Promise.all([loaded, parsed]).then(([mod]) => mod.hydrate());
	if (qr) {
		// The QR decoder (app/src/scan.rs), fetched on first use only; a failed fetch is retried.
		let decoder = null;
		window.ampwiseQrDecoder = () => decoder ??= import(qr[0])
			.then((mod) => mod.default({ module_or_path: qr[1] }).then(() => mod))
			.catch((error) => { decoder = null; throw error; });
	}
}

function (js, wasm) {
	const slow = () => fetch(wasm).then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b));
	const compiled = 'compileStreaming' in WebAssembly ? WebAssembly.compileStreaming(fetch(wasm)).catch(slow) : slow();
	const loaded = import(js).then((mod) => mod.default({ module_or_path: compiled }).then(() => mod));
	const parsed = new Promise((resolve) => {
		if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', resolve, { once: true });
		else resolve();
	});
	Promise.all([loaded, parsed]).then(([mod]) => mod.hydrate());
}

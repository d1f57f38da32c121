function (js, wasm, qr) {
	const slow = () => fetch(wasm).then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b));
	const compiled = 'compileStreaming' in WebAssembly ? WebAssembly.compileStreaming(fetch(wasm)).catch(slow) : slow();
	const loaded = import(js).then((mod) => mod.default({ module_or_path: compiled }).then(() => mod));
	const parsed = new Promise((resolve) => {
		if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', resolve, { once: true });
		else resolve();
	});
	// What the visitor typed or ticked before the wasm arrived (a slow phone, a page load): the
	// wasm sets each field from its state as it hydrates, which would undo it. Put back, with the
	// events typing sends, it reaches the page's state as if typed now.
	const fields = () => [...document.querySelectorAll('input, textarea, select')];
	const ticks = (f) => f.type === 'checkbox' || f.type === 'radio';
	const changed = (f) => ticks(f) ? f.checked !== f.defaultChecked
		: f.tagName === 'SELECT' ? [...f.options].some((o) => o.selected !== o.defaultSelected)
		: f.value !== f.defaultValue;
	Promise.all([loaded, parsed]).then(([mod]) => {
		// A radio button ticked stands for its group: the one it unticked is left alone.
		const typed = fields().filter(changed).filter((f) => f.type !== 'radio' || f.checked)
			.map((f) => [f, ticks(f) ? f.checked : f.value]);
		mod.hydrate();
		// A field inside a part of the page that waits for data is set when that part wakes, a
		// moment later (microtasks, a frame or two): put back until then.
		const restore = () => {
			for (const [f, entered] of typed) {
				if (!f.isConnected || (ticks(f) ? f.checked : f.value) === entered) continue;
				if (ticks(f)) f.checked = entered; else f.value = entered;
				f.dispatchEvent(new Event('input', { bubbles: true }));
				f.dispatchEvent(new Event('change', { bubbles: true }));
			}
		};
		if (typed.length === 0) return;
		// What the visitor types from now on is theirs: that field is left to the page.
		const typing = (e) => { if (e.isTrusted) typed.splice(0, typed.length, ...typed.filter(([f]) => f !== e.target)); };
		document.addEventListener('input', typing, true);
		document.addEventListener('change', typing, true);
		restore();
		setTimeout(restore, 0);
		let frames = 10;
		const frame = () => { restore(); if (--frames > 0) requestAnimationFrame(frame); };
		requestAnimationFrame(frame);
	});
	if (qr) {
		// The QR decoder (app/src/scan.rs), fetched on first use only; a failed fetch is retried.
		let decoder = null;
		window.ampwiseQrDecoder = () => decoder ??= import(qr[0])
			.then((mod) => mod.default({ module_or_path: qr[1] }).then(() => mod))
			.catch((error) => { decoder = null; throw error; });
	}
}

// Puts the cursor in a dialog's first field once the dialog has opened, unless someone is
// already typing in one of its fields. Element Plus fires "opened" after the open animation;
// moving the focus then would send the next keystrokes to another field (a busy machine makes
// the animation long enough for a fast typist, or a browser test, to start first).
export function focusFirstField(el) {
  if (!el) return;
  const active = document.activeElement;
  const dialog = el.closest(".el-dialog");
  const typing = active && dialog && dialog.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
  if (!typing) el.focus();
}

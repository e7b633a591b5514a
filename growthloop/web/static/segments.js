// Segment rule builder: each condition row shows only the fields its type uses (all fields stay
// visible without JavaScript; the server ignores the ones a type does not read).
document.querySelectorAll("fieldset.condition").forEach((row) => {
  const type = row.querySelector("select[name$='_type']");
  const update = () => {
    row.querySelectorAll("label[data-for]").forEach((label) => {
      const shown = type.value !== "" && label.dataset.for.split(" ").includes(type.value);
      label.style.display = shown ? "" : "none";
    });
  };
  type.addEventListener("change", update);
  update();
});

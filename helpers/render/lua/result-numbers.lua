--[[
result-numbers.lua: each inline number of the article links to the notebook
cell that computed it, for `quarto render` (the pip-only renderer does the
same in helpers/render/numbers.py).

The article's inline code (helpers.report.manuscript.Linked) writes each number as

    [61.8%]{.result-number result="results/numbers.csv: ..." notebook="03_survival" cell="km-logrank"}

In HTML the span becomes a link to the notebook's view, Quarto's
build/notebooks/<notebook>-preview.html, at the cell (its label is the cell's
id there), titled with the results row. In Typst and DOCX it becomes its
plain text: the notebook views are HTML pages.
]]

local CLASS = "result-number"

function Span(span)
  if not span.classes:includes(CLASS) then
    return nil
  end
  if FORMAT ~= "html" and not FORMAT:match("^html") then
    return span.content
  end
  local notebook = span.attributes["notebook"]
  local cell = span.attributes["cell"]
  if notebook == nil or cell == nil then
    return span.content
  end
  local href = "build/notebooks/" .. notebook .. "-preview.html#" .. cell
  return pandoc.Link(span.content, href, span.attributes["result"] or "",
                     pandoc.Attr("", { CLASS }))
end

--[[
source-notes.lua: the project's "Source: notebook N, cell label" line under
every embedded figure and table, for `quarto render` (HTML, Typst, DOCX).

The pip-only renderer writes the same line (helpers/render/floats.py,
FloatBuilder._source_note); this filter makes Quarto's output match it
instead of relying on Quarto's own notebook links (which need a
`manuscript-url` in Typst/DOCX, and which Quarto 1.10 does not add in HTML).

Registered in _quarto.yml at `pre-ast`: the document is then plain Pandoc
AST in which `{{< embed nb.ipynb#label >}}` has become

    Div.quarto-embed-nb-cell [notebook=<absolute .ipynb path>, notebook-cellId=cell-<label>]

(inside the article's markdown-cell divs).

It also gives DOCX the cell's PNG instead of its SVG (Quarto prefers SVG
for every format, and Pandoc can only rasterise it with rsvg-convert), so
that every version of Word shows the figures.
]]

local NOTE_KIND = "source-note"

-- float kinds: fig, tbl and the custom keys of crossref.custom
local kinds = { fig = true, tbl = true }

local notebooks = {}  -- path -> decoded notebook (cache)

local function read_notebook(path)
  if notebooks[path] == nil then
    local fh = io.open(path, "r")
    if fh == nil then
      error("source-notes.lua: cannot open embedded notebook " .. path)
    end
    local text = fh:read("a")
    fh:close()
    notebooks[path] = quarto.json.decode(text)
  end
  return notebooks[path]
end

local function cell_label(cell)
  local source = cell.source
  if type(source) == "table" then
    source = table.concat(source, "")
  end
  for line in (source or ""):gmatch("[^\n]+") do
    local label = line:match("^#|%s*label:%s*['\"]?([%w_%-%.:]+)")
    if label then
      return label
    end
  end
  return nil
end

-- the notebook cell an embed div came from: by cell id or by label
local function embedded_cell(div)
  local path = div.attributes["notebook"]
  local id = div.attributes["notebook-cellId"]
  if path == nil or id == nil then
    return nil
  end
  local nb = read_notebook(path)
  for _, cell in ipairs(nb.cells or {}) do
    local label = cell_label(cell)
    if cell.id == id or (label ~= nil and (label == id or "cell-" .. label == id)) then
      return { path = path, cell = cell, label = label or cell.id,
               stem = pandoc.path.split_extension(pandoc.path.filename(path)) }
    end
  end
  error("source-notes.lua: no cell '" .. id .. "' in " .. path)
end

-- the notebook's preview page as Quarto writes it, relative to the article
local function preview_href(src)
  local rel = pandoc.path.make_relative(src.path, quarto.project.directory or ".")
  local dir = pandoc.path.directory(rel)
  local page = src.stem .. "-preview.html"
  if dir ~= "." and dir ~= "" then
    page = dir .. "/" .. page
  end
  return page .. "#" .. src.label
end

local function note(sources)
  local inl = pandoc.Inlines({ pandoc.Str("Source:"), pandoc.Space() })
  for i, src in ipairs(sources) do
    if i > 1 then
      inl:extend({ pandoc.Str(";"), pandoc.Space() })
    end
    local text = pandoc.Inlines({ pandoc.Str("notebook"), pandoc.Space(),
                                  pandoc.Str(src.stem .. ","), pandoc.Space(),
                                  pandoc.Str("cell"), pandoc.Space(), pandoc.Code(src.label) })
    inl:insert(pandoc.Link(text, preview_href(src)))
  end
  if FORMAT == "typst" then
    local para = pandoc.Para({ pandoc.RawInline("typst", "#text(size: 7.5pt, fill: luma(90))[") })
    para.content:extend(inl)
    para.content:insert(pandoc.RawInline("typst", "]"))
    return para
  elseif FORMAT == "docx" then
    return pandoc.Div({ pandoc.Para({ pandoc.Emph(inl) }) },
                      pandoc.Attr("", {}, { ["custom-style"] = "Source Note" }))
  end
  return pandoc.Div({ pandoc.Para(inl) }, pandoc.Attr("", { NOTE_KIND }))
end

-- DOCX: the cell's PNG outputs replace its SVG images, in order
local function raster_images(div, src)
  if FORMAT ~= "docx" then
    return div
  end
  local pngs = {}
  for _, out in ipairs(src.cell.outputs or {}) do
    if out.data and out.data["image/png"] then
      local payload = out.data["image/png"]
      if type(payload) == "table" then
        payload = table.concat(payload, "")
      end
      table.insert(pngs, payload)
    end
  end
  local n = 0
  return div:walk({
    Image = function(img)
      if not img.src:match("%.svg$") then
        return nil
      end
      n = n + 1
      local payload = pngs[n]
      if payload == nil then
        return nil
      end
      local name = src.stem .. "-" .. src.label .. "-" .. n .. ".png"
      pandoc.mediabag.insert(name, "image/png", quarto.base64.decode((payload:gsub("%s", ""))))
      img.src = name
      return img
    end,
  })
end

local function float_kind(ident)
  local prefix = (ident or ""):match("^(%a+)%-")
  return prefix ~= nil and kinds[prefix] == true
end

local function is_embed(block)
  return block.t == "Div" and block.classes:includes("quarto-embed-nb-cell")
end

-- Walk a block list; `found` collects the cells embedded inside a float div,
-- whose note goes after the float (as the pip-only renderer places it).
local function process(blocks, found)
  local out = pandoc.Blocks({})
  for _, block in ipairs(blocks) do
    if is_embed(block) then
      local src = embedded_cell(block)
      if src then
        block = raster_images(block, src)
      end
      -- the absolute notebook path would reach the HTML as data-notebook
      -- (a machine path); the note above replaces Quarto's notebook links
      block.attributes["notebook"] = nil
      block.attributes["notebook-title"] = nil
      block.attributes["notebook-cellId"] = nil
      out:insert(block)
      if src and found then
        table.insert(found, src)
      elseif src then
        out:insert(note({ src }))
      end
    elseif block.t == "Div" and float_kind(block.identifier) and found == nil then
      local inner = {}
      block.content = process(block.content, inner)
      out:insert(block)
      if #inner > 0 then
        out:insert(note(inner))
      end
    elseif block.t == "Div" then
      block.content = process(block.content, found)
      out:insert(block)
    else
      out:insert(block)
    end
  end
  return out
end

function Pandoc(doc)
  if FORMAT == "ipynb" or FORMAT:match("jats") then
    return nil  -- the notebook views and JATS keep Quarto's own structure
  end
  local crossref = doc.meta.crossref
  if crossref and crossref.custom then
    for _, c in ipairs(crossref.custom) do
      if c.key then
        kinds[pandoc.utils.stringify(c.key)] = true
      end
    end
  end
  doc.blocks = process(doc.blocks, nil)
  return doc
end

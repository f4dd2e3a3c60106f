-- wrk script of case_maps.sh: 256x256 EPSG:3857 GetMap requests at random tiles (deterministic sequence per
-- wrk thread) over TILE_BOX (lon/lat "w,s,e,n") at zoom TILE_ZMIN..TILE_ZMAX; TILE_PATH holds the path and
-- LAYERS ("/wms?LAYERS=x"); with TILE_XYZ set, the same tiles as XYZ paths under that prefix ("/tiles/sst:sst").
local path = os.getenv("TILE_PATH") or "/wms?LAYERS=sst/sst"
local xyz = os.getenv("TILE_XYZ") -- set: XYZ tile paths under this prefix instead of GetMap requests
local box = {}
for v in string.gmatch(os.getenv("TILE_BOX") or "-20,40,30,66", "[^,]+") do box[#box + 1] = tonumber(v) end
local zmin, zmax = tonumber(os.getenv("TILE_ZMIN") or 3), tonumber(os.getenv("TILE_ZMAX") or 7)
local R = 20037508.342789244
local counter = 0

local function merc(lon, lat)
  return lon * R / 180, math.log(math.tan(math.pi / 4 + lat * math.pi / 360)) * R / math.pi
end

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(41 + (seed or 1))
end

function request()
  local z = math.random(zmin, zmax)
  local size = 2 * R / 2 ^ z
  local x0, y0 = merc(box[1], box[2])
  local x1, y1 = merc(box[3], box[4])
  local tx = math.random(math.floor((x0 + R) / size), math.floor((x1 + R) / size))
  local ty = math.random(math.floor((R - y1) / size), math.floor((R - y0) / size))
  if xyz then -- cached tiles: /tiles/{layer}/{z}/{x}/{y}.png (nadir) or the same files from disk (nginx)
    return wrk.format("GET", string.format("%s/%d/%d/%d.png", xyz, z, tx, ty))
  end
  local minx, maxy = -R + tx * size, R - ty * size
  return wrk.format("GET", string.format(
    "%s&SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&STYLES=&CRS=EPSG:3857&WIDTH=256&HEIGHT=256&FORMAT=image/png" ..
    "&TRANSPARENT=TRUE&BBOX=%.3f,%.3f,%.3f,%.3f", path, minx, maxy - size, minx + size, maxy))
end

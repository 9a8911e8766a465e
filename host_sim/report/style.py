"""Look of the report: sizes, colours, timeline lanes, the inline CSS and JavaScript."""
from __future__ import annotations


THUMB_W, THUMB_H = 240, 180


THUMB_W, THUMB_H = 240, 180


MAX_THUMBS = 240          # whole report


PER_CAMERA_THUMBS = 12    # at most, per camera


DET_COLOUR = "#ff7a00"    # detection box (what the camera found)


TRUTH_COLOUR = "#00c2ff"  # ground-truth box (where the simulated animal really was)


KIND_STYLE = {  # timeline lane, colour, label
    "boot": ("power", "#555", "boot"),
    "powercut": ("power", "#d00", "power cut"),
    "ota": ("power", "#8a2be2", "OTA update"),
    "pir": ("pir", "#999", "PIR pulse"),
    "event": ("event", "#2a7d2a", "event (kept trigger)"),
    "image": ("image", "#1f5fbf", "image saved"),
    "upload": ("upload", "#0a9396", "upload delivered"),
    "outage": ("net", "#e76f51", "WiFi outage"),
    "sleep": ("sleep", "#c9d6ea", "deep sleep"),
}


LANES = (("power", "power / OTA"), ("pir", "PIR"), ("event", "events"), ("image", "images"),
         ("upload", "uploads"), ("net", "network"), ("sleep", "sleep"))


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;
 background:#f5f7f4}
header{background:#24452f;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:24px} header p{margin:2px 0;opacity:.9}
main{padding:8px 28px 40px;max-width:1500px}
h2{margin:28px 0 8px;border-bottom:2px solid #24452f33;padding-bottom:4px}
h3{margin:18px 0 6px}
.verdict{display:inline-block;padding:8px 14px;border-radius:6px;font-weight:600;margin:12px 0}
.good{background:#d8f0dc;color:#14532d}.bad{background:#fde2e1;color:#8b1a14}
.note{color:#5b6672;font-size:14px;max-width:1000px}
table.fleet{border-collapse:collapse;background:#fff;font-size:13px;box-shadow:0 1px 3px #0002}
table.fleet th,table.fleet td{padding:4px 6px;border-bottom:1px solid #e3e7ea;text-align:right;
 white-space:nowrap}
table.fleet th{background:#e8efe9;cursor:pointer;white-space:normal;vertical-align:bottom}
.scroll{overflow-x:auto;max-width:100%}
table.fleet td:first-child,table.fleet th:first-child{text-align:left}
table.fleet tr.total td{font-weight:700;background:#f0f4f1}
td.alarm{background:#f8b4b0;color:#7a0b05;font-weight:700}
td.warn{background:#ffe8a8}
.cards{display:flex;flex-wrap:wrap;gap:18px}
.card{background:#fff;padding:10px 14px;border-radius:6px;box-shadow:0 1px 3px #0002}
.legend span{display:inline-flex;align-items:center;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;border-radius:2px}
.timeline{background:#fff;border-radius:6px;box-shadow:0 1px 3px #0002;margin:6px 0 14px;
 padding:6px}
.gallery{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;padding:6px;border-radius:6px;box-shadow:0 1px 3px #0002;
 width:240px;font-size:12px}
figure svg{display:block}
figcaption b{font-size:13px}
.tag{display:inline-block;padding:1px 6px;border-radius:8px;font-size:11px;margin:2px 2px 0 0}
.t-animal{background:#d8f0dc}.t-false{background:#fde2e1}.t-missed{background:#ffe8a8}
.t-lapse{background:#e3e7ea}.t-up{background:#d3ecf5}.t-notup{background:#f8b4b0}
.nopic{width:240px;height:180px;display:flex;align-items:center;justify-content:center;
 background:#e3e7ea;color:#5b6672}
.filters button{margin-right:6px;padding:4px 10px;border:1px solid #24452f55;background:#fff;
 border-radius:4px;cursor:pointer}
.filters button.on{background:#24452f;color:#fff}
details>summary{cursor:pointer;font-weight:600;font-size:17px;margin:10px 0 4px}
dl.glossary dt{font-weight:600;margin-top:6px} dl.glossary dd{margin-left:18px;color:#36424e}
"""


JS = """
document.querySelectorAll('table.fleet th').forEach(function(th, col){
  th.title='click to sort';
  th.addEventListener('click', function(){
    var tb=th.closest('table').tBodies[0], rows=[].slice.call(tb.rows), asc=th.dataset.asc!=='1';
    th.dataset.asc=asc?'1':'0';
    rows.sort(function(a,b){
      var x=a.cells[col].dataset.v||a.cells[col].textContent,
          y=b.cells[col].dataset.v||b.cells[col].textContent,
          nx=parseFloat(x), ny=parseFloat(y);
      var r=(isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny; return asc?r:-r;});
    rows.forEach(function(r){tb.appendChild(r);});
  });
});
document.querySelectorAll('.filters button').forEach(function(b){
  b.addEventListener('click', function(){
    document.querySelectorAll('.filters button').forEach(function(o){o.classList.remove('on');});
    b.classList.add('on');
    var f=b.dataset.f;
    document.querySelectorAll('.gallery figure').forEach(function(fig){
      fig.style.display=(f==='all'||fig.dataset.cls===f)?'':'none';});
  });
});
"""
